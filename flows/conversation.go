package flows

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/looplab/fsm"
)

// The conversation's state machine, in one place: its states, the events
// that move between them, and which handler each state gives its input to.
// What each state asks and how each answer is checked are in steps.go and
// documents.go.
//
//	language -> situation -> reason -> expiry -> verdict -> documents -> review -> done
//
// Commands (/start, /restart, /cancel, /back, /help, /language, /status,
// /human) work in every state and are handled before the state's own handler
// (commands.go).

// States.
const (
	StateLanguage  = "language"  // greeting, choose a language
	StateSituation = "situation" // what happened
	StateQuestion  = "question"  // a free question for the support team
	StateReason    = "reason"    // which data changed / what happened to the card
	StateExpiry    = "expiry"    // the expiry date printed on the card
	StateVerdict   = "verdict"   // the 90-day rule applied, explained
	StateDocuments = "documents" // documents one at a time
	StateReplace   = "replace"   // which sent document to replace
	StateReview    = "review"    // everything at a glance, change any answer
	StateDone      = "done"      // the exact next steps
)

// Events.
const (
	evChoseLanguage    = "chose_language"
	evChoseKind        = "chose_kind"
	evChoseExpiring    = "chose_expiring"
	evChoseQuestion    = "chose_question"
	evAsked            = "asked"
	evChoseReason      = "chose_reason"
	evGaveExpiry       = "gave_expiry"
	evProceed          = "proceed"
	evGotDocument      = "got_document"
	evDocumentsDone    = "documents_done"
	evPickReplacement  = "pick_replacement"
	evChoseReplacement = "chose_replacement"
	evRevisit          = "revisit" // back to an earlier or skipped document
	evConfirm          = "confirm"
	evChangeSituation  = "change_situation"
	evChangeReason     = "change_reason"
	evChangeExpiry     = "change_expiry"
	evBack             = "back"
	evRestart          = "restart"
)

func allStates() []string {
	return []string{StateLanguage, StateSituation, StateQuestion, StateReason, StateExpiry,
		StateVerdict, StateDocuments, StateReplace, StateReview, StateDone}
}

// transitions is the conversation's state machine, read top to bottom. The
// README's diagram is generated from it.
func transitions() fsm.Events {
	return fsm.Events{
		{Name: evChoseLanguage, Src: []string{StateLanguage}, Dst: StateSituation},
		{Name: evChoseKind, Src: []string{StateSituation, StateVerdict}, Dst: StateReason},
		{Name: evChoseExpiring, Src: []string{StateSituation}, Dst: StateExpiry},
		{Name: evChoseQuestion, Src: []string{StateSituation}, Dst: StateQuestion},
		{Name: evAsked, Src: []string{StateQuestion}, Dst: StateSituation},
		{Name: evChoseReason, Src: []string{StateReason}, Dst: StateExpiry},
		{Name: evGaveExpiry, Src: []string{StateExpiry}, Dst: StateVerdict},
		{Name: evProceed, Src: []string{StateVerdict}, Dst: StateDocuments},
		{Name: evGotDocument, Src: []string{StateDocuments}, Dst: StateDocuments},
		{Name: evDocumentsDone, Src: []string{StateDocuments}, Dst: StateReview},
		{Name: evPickReplacement, Src: []string{StateDocuments, StateReview}, Dst: StateReplace},
		{Name: evChoseReplacement, Src: []string{StateReplace}, Dst: StateDocuments},
		{Name: evRevisit, Src: []string{StateDocuments, StateReview}, Dst: StateDocuments},
		{Name: evConfirm, Src: []string{StateReview}, Dst: StateDone},
		{Name: evChangeSituation, Src: []string{StateReason, StateExpiry, StateVerdict, StateReview}, Dst: StateSituation},
		{Name: evChangeReason, Src: []string{StateReview}, Dst: StateReason},
		{Name: evChangeExpiry, Src: []string{StateVerdict, StateReview}, Dst: StateExpiry},
		{Name: evBack, Src: []string{StateSituation}, Dst: StateLanguage},
		{Name: evBack, Src: []string{StateQuestion, StateReason}, Dst: StateSituation},
		{Name: evBack, Src: []string{StateExpiry}, Dst: StateReason},
		{Name: evBack, Src: []string{StateVerdict}, Dst: StateExpiry},
		{Name: evBack, Src: []string{StateDocuments}, Dst: StateVerdict},
		{Name: evBack, Src: []string{StateReplace}, Dst: StateDocuments},
		{Name: evBack, Src: []string{StateReview}, Dst: StateReplace},
		{Name: evBack, Src: []string{StateDone}, Dst: StateReview},
		{Name: evRestart, Src: allStates(), Dst: StateSituation},
	}
}

// Diagram returns the conversation as a Mermaid state diagram.
func Diagram() (string, error) {
	return fsm.VisualizeForMermaidWithGraphType(fsm.NewFSM(StateLanguage, transitions(), nil), fsm.StateDiagram)
}

// Button actions. Button data is "<step>:<action>[:<arg>]", at most 64 bytes.
const (
	actLang        = "lang"     // arg: language code
	actSituation   = "sit"      // arg: a rules.Kind, "expiring" or "question"
	actReason      = "reason"   // arg: a rules.Reason
	actKeepExpiry  = "keep"     // keep the expiry date already given
	actContinue    = "continue" // verdict -> documents
	actChangeDate  = "date"
	actRestart     = "restart"
	actSkip        = "skip"    // skip the current optional document
	actReplace     = "replace" // open the list of documents to replace
	actReplaceDoc  = "redo"    // arg: a rules.DocID
	actKeepDoc     = "keepdoc" // keep the document sent, not replace it
	actAddDoc      = "add"     // arg: a skipped rules.DocID, to send after all
	actMorePages   = "page"    // arg: a rules.DocID: the next file is another page of it
	actPagesDone   = "pages"   // no more pages (or back) for the document being added to
	actRefileAsk   = "notit"   // "That's not it": ask what the last file is
	actRefile      = "refile"  // arg: a rules.DocID, or refileDrop
	actConfirm     = "confirm"
	actChangeKind  = "kind"
	actChangeWhy   = "why"
	actCancelYes   = "cancel_yes"
	actCancelNo    = "cancel_no"
	actResume      = "resume" // /start mid-conversation: carry on
	actStartAgain  = "again"  // /start mid-conversation: erase and restart
	actOpeningYes  = "op_yes" // what the first message told is right
	actOpeningNo   = "op_no"  // it is not
	actHuman       = "human"
	actBack        = "back"
	actFAQ         = "faq"   // arg: a knowledge-base topic
	actCheck       = "check" // ask a person to check the finished package
	actRate        = "rate"  // arg: a rating, once a case is closed
	actRateComment = "rate_comment"
	maxButtonData  = 64
	situationExp   = "expiring"
	situationQuest = "question"
	missesForHuman = 3
	farFutureDays  = 3700 // about ten years: no residence card is valid longer
	refileDrop     = "drop"
	confirmRefile  = "refile" // Session.Confirming: what the last file is
)

// fire moves the machine. A fresh machine is built from the stored state for
// every event, as looplab/fsm keeps no state worth trusting across updates.
func (t *turn) fire(event string) error {
	next, err := t.f.conversation.run(t.s.State, event)
	if err != nil {
		return fmt.Errorf("flows: %s in state %s: %w", event, t.s.State, err)
	}
	t.s.State = next
	t.s.Step++
	t.s.Misses, t.s.Unanswered = 0, 0
	if t.s.State == StateDocuments && t.s.Replacing == "" && t.s.Adding == "" && t.currentDoc() == nil && t.requiredDone() {
		return t.fire(evDocumentsDone)
	}
	return nil
}

// move fires an event and asks the new state's question.
func (t *turn) move(event string) error {
	if err := t.fire(event); err != nil {
		return err
	}
	t.ask()
	return nil
}

// handle gives the input to the current state. For a button press, action
// and arg are set; otherwise the state reads t.in.
func (t *turn) handle(button ...string) error {
	action, arg := "", ""
	if len(button) == 2 {
		action, arg = button[0], button[1]
	}
	switch t.s.State {
	case StateLanguage:
		return t.onLanguage()
	case StateSituation:
		return t.onSituation(action, arg)
	case StateQuestion:
		return t.onQuestion()
	case StateReason:
		return t.onReason(action, arg)
	case StateExpiry:
		return t.onExpiry(action)
	case StateVerdict:
		return t.onVerdict(action, arg)
	case StateDocuments:
		return t.onDocuments(action, arg)
	case StateReplace:
		return t.onReplace(action, arg)
	case StateReview:
		return t.onReview(action, arg)
	case StateDone:
		if action == actConfirm {
			return t.move(evBack)
		}
		t.miss("hint_done")
		return nil
	}
	return fmt.Errorf("flows: unknown state %q", t.s.State)
}

// machines lends looplab/fsm machines of one set of transitions, set to a
// stored state for one event: building a machine (its maps of every
// transition) for each event was most of a turn's allocations. A machine
// has no callbacks, so an event runs to its end at once and the machine
// can serve the next turn.
type machines struct{ pool sync.Pool }

func newMachines(initial string, events func() fsm.Events) *machines {
	m := &machines{}
	m.pool.New = func() any { return fsm.NewFSM(initial, events(), nil) }
	return m
}

// run fires event from state and returns the state it leads to (state
// itself for an event that changes nothing).
func (m *machines) run(state, event string) (string, error) {
	f := m.pool.Get().(*fsm.FSM)
	defer m.pool.Put(f)
	f.SetState(state)
	err := f.Event(context.Background(), event)
	var same fsm.NoTransitionError
	if err != nil && !errors.As(err, &same) {
		return state, err
	}
	return f.Current(), nil
}
