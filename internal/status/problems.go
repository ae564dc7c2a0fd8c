package status

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Reasons of the Degraded condition, most urgent first: when several hold, the condition's reason is the most
// urgent one and its message lists them all in this order.
const (
	ReasonInvalidMember      = "InvalidMember"
	ReasonReconcileError     = "ReconcileError"
	ReasonNameConflict       = "NameConflict"
	ReasonFailoverPaused     = "FailoverPaused"
	ReasonAwaitingFencing    = "AwaitingFencing"
	ReasonFailoverCapped     = "FailoverCapped"
	ReasonWaitingForCapacity = "WaitingForCapacity"
)

var urgency = []string{ReasonInvalidMember, ReasonReconcileError, ReasonNameConflict, ReasonFailoverPaused,
	ReasonAwaitingFencing, ReasonFailoverCapped, ReasonWaitingForVolume, ReasonWaitingForCapacity}

// Problem is one reason a group is Degraded, with a message that names the objects and what to do.
type Problem struct {
	Reason  string
	Message string
}

// MaxMessage bounds the Degraded message: a condition message is for a person, and a status that grows with the
// group (or changes with a map's order) would be rewritten on every reconcile.
const MaxMessage = 1024

func rank(reason string) int {
	if i := slices.Index(urgency, reason); i >= 0 {
		return i
	}
	return len(urgency)
}

// degradedCondition sorts the problems (by urgency, then message, so the same problems always read the same)
// and joins their messages, bounded by MaxMessage.
func degradedCondition(problems []Problem) cond {
	if len(problems) == 0 {
		return cond{ConditionDegraded, false, "AsExpected", ""}
	}
	slices.SortFunc(problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(rank(a.Reason), rank(b.Reason)), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Message, b.Message))
	})
	problems = slices.Compact(problems)
	messages := make([]string, 0, len(problems))
	for _, p := range problems {
		messages = append(messages, p.Message)
	}
	return cond{ConditionDegraded, true, problems[0].Reason, Bounded(strings.Join(messages, "; "), MaxMessage)}
}

// Bounded cuts a message to at most limit bytes, on a rune boundary, saying how much was left out.
func Bounded(message string, limit int) string {
	if len(message) <= limit {
		return message
	}
	const suffixRoom = 32 // " ... (N more bytes)"
	cut := max(limit-suffixRoom, 0)
	for cut > 0 && !utf8.RuneStart(message[cut]) {
		cut--
	}
	return fmt.Sprintf("%s ... (%d more bytes)", message[:cut], len(message)-cut)
}
