package images

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Sentinel errors the agent branches on (ErrImagePull vs ImagePullBackOff
// reasons, retry or not). Pull errors wrap one of them together with the
// registry's own error, so the text a user sees keeps the registry's words.
var (
	// ErrNotFound: the image, tag or digest does not exist (locally for Get
	// and Remove, in the registry for Pull).
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the registry refused the credentials, or wanted some.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrRegistryUnavailable: the registry could not be reached or answered
	// with a server-side failure; retrying later may help.
	ErrRegistryUnavailable = errors.New("registry unavailable")
)

// classify maps a go-containerregistry error to one of the sentinels, or nil
// when none fits (a malformed manifest, a digest mismatch, a full disk...).
func classify(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
				return ErrNotFound
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return ErrUnauthorized
			case transport.UnavailableErrorCode, transport.TooManyRequestsErrorCode:
				return ErrRegistryUnavailable
			}
		}
		switch {
		case terr.StatusCode == http.StatusNotFound:
			return ErrNotFound
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return ErrUnauthorized
		case terr.StatusCode == http.StatusTooManyRequests || terr.StatusCode >= 500:
			return ErrRegistryUnavailable
		}
		return nil
	}
	if errors.Is(err, errPlatformMissing) {
		return ErrNotFound
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrRegistryUnavailable
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var netErr net.Error
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return ErrRegistryUnavailable
	}
	return nil
}

// pullError renders as "<ref>: <sentinel>: <registry's message>" and matches
// both the sentinel and the underlying error with errors.Is/As.
func pullError(ref string, err error) error {
	if sentinel := classify(err); sentinel != nil && !errors.Is(err, sentinel) {
		return fmt.Errorf("%s: %w: %w", ref, sentinel, err)
	}
	return fmt.Errorf("%s: %w", ref, err)
}

// morePrecise reports whether a is a better error to show than b: an answer
// from a registry that was reached (not found, unauthorized) says more than
// "connection refused" from a mirror that is down.
func morePrecise(a, b error) bool {
	if b == nil {
		return true
	}
	return errors.Is(b, ErrRegistryUnavailable) && !errors.Is(a, ErrRegistryUnavailable)
}
