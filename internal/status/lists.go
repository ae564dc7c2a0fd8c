package status

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Lists of members in what a person reads (event notes, condition messages) have a size that does not grow with
// the group: runs of ordinals are written as ranges, and past a bound the rest is counted.
const (
	// MaxEventNote is the API server's limit on an event's note (events.k8s.io/v1): a longer one is refused, and
	// the event lost.
	MaxEventNote = 1024
	// MaxList bounds a list of members inside a problem's message, so the message still says what to do within
	// MaxMessage.
	MaxList = 256
)

// MemberNames lists names of a group's Pods in at most limit bytes: members <group>-<ordinal> by ordinal, three or
// more consecutive ones as a range "web-0..web-9999", then any other names (a migration's replacement) sorted;
// what does not fit is counted ("web-0..web-3, web-7 and 12 more").
func MemberNames(group string, names []string, limit int) string {
	var ordinals []int
	var others []string
	for _, name := range names {
		if ordinal, ok := ordinalOf(group, name); ok {
			ordinals = append(ordinals, ordinal)
		} else {
			others = append(others, name)
		}
	}
	slices.Sort(ordinals)
	ordinals = slices.Compact(ordinals)
	slices.Sort(others)
	items := make([]string, 0, len(ordinals)+len(others))
	counts := make([]int, 0, cap(items))
	for i := 0; i < len(ordinals); {
		j := i
		for j+1 < len(ordinals) && ordinals[j+1] == ordinals[j]+1 {
			j++
		}
		if j-i >= 2 {
			items = append(items, fmt.Sprintf("%s-%d..%s-%d", group, ordinals[i], group, ordinals[j]))
			counts = append(counts, j-i+1)
		} else {
			for k := i; k <= j; k++ {
				items = append(items, fmt.Sprintf("%s-%d", group, ordinals[k]))
				counts = append(counts, 1)
			}
		}
		i = j + 1
	}
	for _, name := range others {
		items, counts = append(items, name), append(counts, 1)
	}
	return joinCounted(items, counts, limit)
}

// ordinalOf reads the ordinal of a member name <group>-<ordinal>, written as strconv writes it.
func ordinalOf(group, name string) (int, bool) {
	digits, found := strings.CutPrefix(name, group+"-")
	if !found {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || strconv.Itoa(n) != digits {
		return 0, false
	}
	return n, true
}

// JoinCapped joins items with ", " in at most limit bytes: what does not fit is counted, "a, b and 12 more".
func JoinCapped(items []string, limit int) string {
	counts := make([]int, len(items))
	for i := range counts {
		counts[i] = 1
	}
	return joinCounted(items, counts, limit)
}

// joinCounted joins items, each standing for counts[i] names, keeping as many as fit in limit bytes with the
// count of the rest: "and N more" counts names, not items, so a range left out is counted whole.
func joinCounted(items []string, counts []int, limit int) string {
	if all := strings.Join(items, ", "); len(all) <= limit {
		return all
	}
	rest := 0
	for _, n := range counts {
		rest += n
	}
	var out strings.Builder
	for i, item := range items {
		sep := ""
		if i > 0 {
			sep = ", "
		}
		more := fmt.Sprintf(" and %d more", rest-counts[i])
		if out.Len()+len(sep)+len(item)+len(more) > limit {
			break
		}
		out.WriteString(sep + item)
		rest -= counts[i]
	}
	if out.Len() == 0 {
		return fmt.Sprintf("%d more", rest)
	}
	return fmt.Sprintf("%s and %d more", out.String(), rest)
}
