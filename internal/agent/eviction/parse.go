package eviction

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// signalResource maps each supported signal to the resource it starves.
var signalResource = map[Signal]corev1.ResourceName{
	SignalMemoryAvailable:   corev1.ResourceMemory,
	SignalNodeFsAvailable:   corev1.ResourceEphemeralStorage,
	SignalNodeFsInodesFree:  resourceInodes,
	SignalImageFsAvailable:  corev1.ResourceEphemeralStorage,
	SignalImageFsInodesFree: resourceInodes,
	SignalPIDAvailable:      resourcePids,
}

func validSignal(s Signal) bool {
	_, ok := signalResource[s]
	return ok
}

// ParseThresholds parses --eviction-hard syntax, e.g.
// "memory.available<100Mi,nodefs.available<10%". An empty string yields no
// thresholds; pass DefaultEvictionHard for the kubelet's defaults. A signal
// given twice keeps its last value, as the kubelet's flag does. Thresholds
// of 0% or 100% are dropped, as the kubelet drops them.
func ParseThresholds(hard string) ([]Threshold, error) {
	pairs, err := splitPairs(hard, "<")
	if err != nil {
		return nil, err
	}
	var out []Threshold
	for _, p := range pairs {
		t, err := parseThreshold(Signal(p.key), p.value)
		if err != nil {
			return nil, err
		}
		if t != nil {
			out = append(out, *t)
		}
	}
	return out, nil
}

// ParseThresholdConfig parses the kubelet's four eviction flags:
// --eviction-hard and --eviction-soft ("signal<value,..."),
// --eviction-soft-grace-period ("signal=duration,...") and
// --eviction-minimum-reclaim ("signal=quantity|percent,..."). Every soft
// threshold needs a grace period.
func ParseThresholdConfig(hard, soft, softGracePeriod, minimumReclaim string) ([]Threshold, error) {
	hardTs, err := ParseThresholds(hard)
	if err != nil {
		return nil, err
	}
	softTs, err := ParseThresholds(soft)
	if err != nil {
		return nil, err
	}
	periods, err := parseGracePeriods(softGracePeriod)
	if err != nil {
		return nil, err
	}
	reclaims, err := parseMinimumReclaims(minimumReclaim)
	if err != nil {
		return nil, err
	}
	for i := range softTs {
		period, ok := periods[softTs[i].Signal]
		if !ok {
			return nil, fmt.Errorf("grace period must be specified for the soft eviction threshold %v", softTs[i].Signal)
		}
		// A zero period makes the threshold hard, as in the kubelet.
		softTs[i].GracePeriod = period
	}
	out := append(hardTs, softTs...)
	for i := range out {
		if r, ok := reclaims[out[i].Signal]; ok {
			out[i].MinReclaim = &r
		}
	}
	return out, nil
}

type pair struct{ key, value string }

// splitPairs splits "k<v,k<v" (or with "="), keeping the last value of a
// repeated key in the position of its first occurrence.
func splitPairs(s, sep string) ([]pair, error) {
	var out []pair
	index := map[string]int{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, sep)
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			if sep == "<" {
				return nil, fmt.Errorf("invalid eviction threshold syntax %q, expected <signal><operator><value>", item)
			}
			return nil, fmt.Errorf("malformed pair %q, expect string%sstring", item, sep)
		}
		if i, seen := index[k]; seen {
			out[i].value = v
			continue
		}
		index[k] = len(out)
		out = append(out, pair{k, v})
	}
	return out, nil
}

// parseThreshold returns nil for thresholds the kubelet ignores (0%, 100%).
func parseThreshold(signal Signal, val string) (*Threshold, error) {
	if !validSignal(signal) {
		return nil, fmt.Errorf("unsupported eviction signal %v", signal)
	}
	if strings.HasSuffix(val, "%") {
		if val == "0%" || val == "100%" {
			return nil, nil
		}
		p, err := parsePercentage(val)
		if err != nil {
			return nil, fmt.Errorf("eviction threshold %v: %w", signal, err)
		}
		if p < 0 {
			return nil, fmt.Errorf("eviction percentage threshold %v must be >= 0%%: %s", signal, val)
		}
		if p > 1 {
			return nil, fmt.Errorf("eviction percentage threshold %v must be <= 100%%: %s", signal, val)
		}
		return &Threshold{Signal: signal, Value: ThresholdValue{Percentage: p}}, nil
	}
	q, err := resource.ParseQuantity(val)
	if err != nil {
		return nil, fmt.Errorf("eviction threshold %v: invalid quantity %q: %w", signal, val, err)
	}
	if q.Sign() <= 0 {
		return nil, fmt.Errorf("eviction threshold %v must be positive: %s", signal, &q)
	}
	return &Threshold{Signal: signal, Value: ThresholdValue{Quantity: &q}}, nil
}

func parsePercentage(val string) (float32, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(val, "%"), 32)
	if err != nil {
		return 0, fmt.Errorf("invalid percentage %q: %w", val, err)
	}
	return float32(f) / 100, nil
}

func parseGracePeriods(s string) (map[Signal]time.Duration, error) {
	pairs, err := splitPairs(s, "=")
	if err != nil {
		return nil, err
	}
	out := map[Signal]time.Duration{}
	for _, p := range pairs {
		signal := Signal(p.key)
		if !validSignal(signal) {
			return nil, fmt.Errorf("unsupported eviction signal %v", signal)
		}
		d, err := time.ParseDuration(p.value)
		if err != nil {
			return nil, fmt.Errorf("eviction grace period %v: %w", signal, err)
		}
		if d < 0 {
			return nil, fmt.Errorf("invalid eviction grace period specified: %v, must be a positive value", p.value)
		}
		out[signal] = d
	}
	return out, nil
}

func parseMinimumReclaims(s string) (map[Signal]ThresholdValue, error) {
	pairs, err := splitPairs(s, "=")
	if err != nil {
		return nil, err
	}
	out := map[Signal]ThresholdValue{}
	for _, p := range pairs {
		signal := Signal(p.key)
		if !validSignal(signal) {
			return nil, fmt.Errorf("unsupported eviction signal %v", signal)
		}
		if strings.HasSuffix(p.value, "%") {
			pct, err := parsePercentage(p.value)
			if err != nil {
				return nil, fmt.Errorf("eviction minimum reclaim %v: %w", signal, err)
			}
			if pct <= 0 {
				return nil, fmt.Errorf("eviction percentage minimum reclaim %v must be positive: %s", signal, p.value)
			}
			out[signal] = ThresholdValue{Percentage: pct}
			continue
		}
		q, err := resource.ParseQuantity(p.value)
		if err != nil {
			return nil, fmt.Errorf("eviction minimum reclaim %v: invalid quantity %q: %w", signal, p.value, err)
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("negative eviction minimum reclaim specified for %v", signal)
		}
		out[signal] = ThresholdValue{Quantity: &q}
	}
	return out, nil
}
