package persistentvolume

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

// findBestMatch returns the volume a claim should bind to, or nil. A volume
// pre-bound to the claim wins; otherwise the smallest Available volume of
// the claim's class whose access modes include the claim's, whose volume
// mode matches and whose labels match the claim's selector.
//
// Like upstream's volume index, volumes are tried by access-mode set, fewest
// modes first: an RWO claim takes a small RWO-only volume before a larger
// one that could also serve RWX claims. delayBinding (WaitForFirstConsumer
// without a chosen node) only admits pre-bound volumes.
func findBestMatch(claim *corev1.PersistentVolumeClaim, volumes []*corev1.PersistentVolume, delayBinding bool) (*corev1.PersistentVolume, error) {
	groups := map[string][]*corev1.PersistentVolume{}
	for _, pv := range volumes {
		if storagehelpers.CheckAccessModes(claim, pv) {
			k := modesKey(pv.Spec.AccessModes)
			groups[k] = append(groups[k], pv)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if na, nb := strings.Count(a, ",")+1, strings.Count(b, ",")+1; na != nb {
			return na - nb
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		pv, err := storagehelpers.FindMatchingVolume(claim, groups[k], nil, nil, delayBinding, true)
		if err != nil || pv != nil {
			return pv, err
		}
	}
	return nil, nil
}

// modesKey names an access-mode set independent of order and duplicates.
func modesKey(modes []corev1.PersistentVolumeAccessMode) string {
	s := make([]string, 0, len(modes))
	for _, m := range modes {
		s = append(s, string(m))
	}
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}
