package main

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
)

// parseMember reads migrate's MEMBER argument when it names the member itself: an ordinal (1) or a member name
// (web-1). ok is false for anything else, which is taken for the name of a member's Pod (web-1-m3f9a2).
func parseMember(group, arg string) (ordinal int, ok bool) {
	digits := strings.TrimPrefix(arg, group+"-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return 0, false
	}
	return n, true
}

// memberOfPod is the ordinal of the member a Pod of the group holds.
func memberOfPod(group string, pod *corev1.Pod) (int, error) {
	if g := pod.Labels[peapodv1alpha1.GroupLabel]; g != group {
		return 0, fmt.Errorf("pod %s is not a member of podgroup %s (its %s label is %q)", pod.Name, group, peapodv1alpha1.GroupLabel, g)
	}
	ordinal, ok := desired.OrdinalOf(pod.Labels)
	if !ok {
		return 0, fmt.Errorf("pod %s has no valid %s label", pod.Name, peapodv1alpha1.OrdinalLabel)
	}
	return ordinal, nil
}

// checkMember says whether the group has a member of that ordinal.
func checkMember(g *peapodv1alpha1.PodGroup, ordinal int) error {
	replicas := desired.Replicas(g)
	switch {
	case replicas == 0:
		return fmt.Errorf("podgroup %s has no members (spec.replicas is 0)", g.Name)
	case ordinal >= replicas:
		return fmt.Errorf("podgroup %s has no member %s: its members are %s to %s", g.Name,
			desired.MemberName(g.Name, ordinal), desired.MemberName(g.Name, 0), desired.MemberName(g.Name, replicas-1))
	}
	return nil
}
