// Package openapi holds the OpenAPI definitions (GetOpenAPIDefinitions) for
// the Kubernetes API types that orca serves. They back /openapi/v2 and
// /openapi/v3, which kubectl (strict field validation, explain, client-side
// strategic merge) and the server-side-apply type converter rely on.
//
// zz_generated.openapi.go is produced by kube-openapi's openapi-gen, which is
// declared as a Go tool in go.mod. Regenerate it with:
//
//	go generate ./internal/apiserver/openapi/
//
// All input packages are upstream (k8s.io/...) and are therefore also passed as
// --readonly-pkg. API rule violations in upstream types are not ours to fix, so
// the report is discarded (--report-filename /dev/null).
package openapi

//go:generate go tool openapi-gen --output-dir . --output-pkg github.com/orca-pods/orca/internal/apiserver/openapi --output-file zz_generated.openapi.go --go-header-file boilerplate.go.txt --report-filename /dev/null --readonly-pkg k8s.io/api/core/v1 --readonly-pkg k8s.io/api/coordination/v1 --readonly-pkg k8s.io/api/scheduling/v1 --readonly-pkg k8s.io/api/events/v1 --readonly-pkg k8s.io/api/policy/v1 --readonly-pkg k8s.io/api/storage/v1 --readonly-pkg k8s.io/api/authentication/v1 --readonly-pkg k8s.io/api/authorization/v1 --readonly-pkg k8s.io/api/node/v1 --readonly-pkg k8s.io/api/discovery/v1 --readonly-pkg k8s.io/apimachinery/pkg/apis/meta/v1 --readonly-pkg k8s.io/apimachinery/pkg/apis/meta/v1beta1 --readonly-pkg k8s.io/apimachinery/pkg/runtime --readonly-pkg k8s.io/apimachinery/pkg/version --readonly-pkg k8s.io/apimachinery/pkg/api/resource --readonly-pkg k8s.io/apimachinery/pkg/util/intstr k8s.io/api/core/v1 k8s.io/api/coordination/v1 k8s.io/api/scheduling/v1 k8s.io/api/events/v1 k8s.io/api/policy/v1 k8s.io/api/storage/v1 k8s.io/api/authentication/v1 k8s.io/api/authorization/v1 k8s.io/api/node/v1 k8s.io/api/discovery/v1 k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/apis/meta/v1beta1 k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/version k8s.io/apimachinery/pkg/api/resource k8s.io/apimachinery/pkg/util/intstr
