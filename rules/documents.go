package rules

// DocID is the stable id of a document the applicant uploads. Stored
// progress and the message catalogs refer to these ids, so they never change.
//
// What counts for each id is noted next to it (sources: aima-facts.md
// section 2); the user-facing description lives in the message catalogs.
type DocID string

const (
	// Copy of the passport; for a name or nationality change, the new one.
	DocPassport DocID = "passport"
	// Copy (photo or scan) of the residence card or título; for a lost or
	// stolen card, only if the applicant kept one.
	DocResidenceCard DocID = "residence_card"
	// Signed declaration "sob compromisso de honra" (on your honour) of the new address.
	DocHonourDeclaration DocID = "honour_declaration"
	// Rental contract in your name with the latest rent receipt, or certidão
	// predial permanente, or comodato agreement / owner's declaration; the
	// Junta de Freguesia's atestado is no longer accepted.
	DocHousingProof DocID = "housing_proof"
	// Certidão de domicílio fiscal from Finanças, when living in someone else's home.
	DocTaxAddressCertificate DocID = "tax_address_certificate"
	// Civil-registry certificate showing the name change.
	DocNameChangeCertificate DocID = "name_change_certificate"
	// Marriage or divorce certificate; foreign ones apostilled and translated.
	DocCivilStatusCertificate DocID = "civil_status_certificate"
	// Naturalisation certificate, only if you acquired a new nationality.
	DocNaturalisationCertificate DocID = "naturalisation_certificate"
	// Official document proving the change.
	DocChangeProof DocID = "change_proof"
	// Copy or declaration of the police report filed with the PSP or GNR.
	DocPoliceReport DocID = "police_report"
	// Photos of both sides of the damaged card.
	DocDamagedCardPhotos DocID = "damaged_card_photos"
	// Signed declaration of what happened to the card, on your honour.
	DocDamageDeclaration DocID = "damage_declaration"
)

// Document is one upload the form expects. Optional documents apply only to
// some applicants (see the comment of each DocID).
type Document struct {
	ID        DocID
	Mandatory bool
}

// Documents returns what to upload for reason r of kind k, in the order the
// applicant should send it. The slice is new on every call. It fails with an
// *IDError when k is unknown or r is not one of its reasons.
func Documents(k Kind, r Reason) ([]Document, error) {
	if _, err := ParseReason(k, string(r)); err != nil {
		return nil, err
	}
	// AIMA asks every applicant for the passport and the card in their own
	// fields (AIMA 19.03.2025); someone whose card is lost or stolen can only
	// send a copy if they kept one.
	cardMandatory := r != Lost && r != Stolen
	docs := []Document{
		{ID: DocPassport, Mandatory: true},
		{ID: DocResidenceCard, Mandatory: cardMandatory},
	}
	return append(docs, reasonDocuments(r)...), nil
}

// reasonDocuments is the proof of the reason itself ("comprovativo do motivo
// de alteração", or the police report for a 2.ª via).
func reasonDocuments(r Reason) []Document {
	switch r {
	case Address:
		// AIMA's housing-proof rules of 29.11.2025 for renewals; that the form
		// follows them is an inference (facts 2b, confidence L).
		return []Document{
			{ID: DocHonourDeclaration, Mandatory: true},
			{ID: DocHousingProof, Mandatory: true},
			{ID: DocTaxAddressCertificate, Mandatory: false},
		}
	case Name:
		return []Document{{ID: DocNameChangeCertificate, Mandatory: true}}
	case CivilStatus:
		return []Document{{ID: DocCivilStatusCertificate, Mandatory: true}}
	case Nationality:
		// The new passport itself is the proof; naturalisation only applies
		// to someone who gained a nationality.
		return []Document{{ID: DocNaturalisationCertificate, Mandatory: false}}
	case OtherChange:
		return []Document{{ID: DocChangeProof, Mandatory: true}}
	case Lost, Stolen:
		return []Document{{ID: DocPoliceReport, Mandatory: true}}
	case Damaged:
		// The form names only the police report; for a damaged card the old
		// SEF procedure (art. 73) asked for the card and a declaration, which
		// online becomes photos plus a signed declaration (confidence L).
		return []Document{
			{ID: DocDamagedCardPhotos, Mandatory: true},
			{ID: DocDamageDeclaration, Mandatory: true},
		}
	}
	return nil
}

// AllDocIDs returns every id that any kind and reason can ask for, each once,
// in the order of first appearance across Kinds, Reasons and Documents. It
// is derived from Documents so the two cannot drift apart; catalogs can be
// checked against it.
func AllDocIDs() []DocID {
	var ids []DocID
	seen := make(map[DocID]bool)
	for _, k := range Kinds() {
		for _, r := range Reasons(k) {
			docs, _ := Documents(k, r)
			for _, d := range docs {
				if !seen[d.ID] {
					seen[d.ID] = true
					ids = append(ids, d.ID)
				}
			}
		}
	}
	return ids
}
