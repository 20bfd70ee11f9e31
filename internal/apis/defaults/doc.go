// Package defaults fills in the field defaults kube-apiserver applies to the
// k8s.io/api v1 types orca serves.
//
// Upstream keeps these in k8s.io/kubernetes (pkg/apis/<group>/v1/defaults.go
// plus the defaulter-gen output zz_generated.defaults.go, which also carries
// the declarative "+default=" markers from k8s.io/api). We cannot import that
// module, so this package reimplements the same behaviour by hand. The
// generated defaulters are "covering": a type's defaulter recurses into every
// nested field that has defaults of its own (containers, probes, volumes,
// resource lists, ...). The functions here mirror that shape, so Pod calls
// PodSpec, which calls Container, Probe, Volume and so on.
//
// Three kinds of behaviour live here:
//
//   - Real defaulting (SetDefaults_* upstream). Register wires these into a
//     runtime.Scheme so the apiserver's codecs apply them on every decode:
//     create, update, patch and reads from storage.
//   - A few v1 -> internal -> v1 round-trip effects of upstream's hand
//     written conversions (Secret stringData folded into data, the
//     deprecated serviceAccount alias, podIP/podIPs and podCIDR/podCIDRs
//     kept in sync). orca stores v1 directly and has no conversion step, so
//     without these clients would see different objects than from a real
//     apiserver. See roundtrip.go.
//   - Defaults that upstream applies in admission plugins or registry
//     strategies rather than in the scheme. The service account default is
//     applied by Pod because orca has no admission chain yet; the others
//     (DefaultTolerations, NamespaceFinalizers) are exported for the
//     strategies to call on create and are NOT registered.
package defaults
