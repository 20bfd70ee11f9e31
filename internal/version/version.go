// Package version reports orca's version, set at build time by the Makefile.
package version

import basever "k8s.io/component-base/version"

// Version is orca's own release, e.g. v0.1.0 (-ldflags -X).
var Version = "v0.0.0-dev"

// Kubernetes is the Kubernetes API version the server reports on /version;
// it comes from k8s.io/component-base's gitVersion, also set at build time.
func Kubernetes() string { return basever.Get().GitVersion }
