package rules

import "time"

// FormField is a file field of AIMA's contact form. The form asks for a
// copy of the passport and of the card "no campo disponibilizado para o
// efeito", and for the proof of the request: "Comprovativo do motivo de
// alteração" for a data change, "Comprovativo de participação policial"
// for a second copy (AIMA 19.03.2025, facts 2a).
type FormField string

const (
	FieldPassport FormField = "passport"
	FieldCard     FormField = "card"
	FieldProof    FormField = "proof"
)

// Field is the form's field a document is uploaded in.
func Field(id DocID) FormField {
	switch id {
	case DocPassport:
		return FieldPassport
	case DocResidenceCard:
		return FieldCard
	}
	return FieldProof
}

// FileName is the name of the PDF made of a document's files, such as
// "passaporte.pdf": after the form's own Portuguese words, so that the
// applicant recognises which file goes where on a form in Portuguese. An
// unknown id keeps its own name.
func FileName(id DocID) string {
	name := string(id)
	switch id {
	case DocPassport:
		name = "passaporte"
	case DocResidenceCard:
		name = "titulo-de-residencia"
	case DocHonourDeclaration:
		name = "declaracao-compromisso-de-honra"
	case DocHousingProof:
		name = "comprovativo-de-morada"
	case DocTaxAddressCertificate:
		name = "certidao-domicilio-fiscal"
	case DocNameChangeCertificate:
		name = "certidao-alteracao-de-nome"
	case DocCivilStatusCertificate:
		name = "certidao-estado-civil"
	case DocNaturalisationCertificate:
		name = "certidao-naturalizacao"
	case DocChangeProof:
		name = "comprovativo-de-alteracao"
	case DocPoliceReport:
		name = "participacao-policial"
	case DocDamagedCardPhotos:
		name = "fotos-titulo-danificado"
	case DocDamageDeclaration:
		name = "declaracao-danos"
	}
	return name + ".pdf"
}

// ReminderDays are the reminders before the last day to use the form, in
// days before it: two weeks, two days, and the day itself.
func ReminderDays() []int { return []int{14, 2, 0} }

// ReminderHour is the hour (Lisbon) a reminder is sent on its day.
const ReminderHour = 9

// At is the instant of hour o'clock on d in Lisbon.
func (d Date) At(hour int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, Lisbon())
}
