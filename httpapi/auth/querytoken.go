package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// QueryTokenParam is the query parameter Tiledesk's passport reads a JWT
// from when the request has none in its Authorization header
// (ExtractJwt.fromUrlQueryParameter('secret_token')): what a browser
// sends where it cannot set a header (an EventSource, a download link).
const QueryTokenParam = "secret_token"

// MaxQueryTokenBytes bounds a secret_token value; a longer one is
// refused without being parsed (Tiledesk's tokens are under 1 KiB).
const MaxQueryTokenBytes = 8 << 10

// ErrQueryToken: a ?secret_token= that is not accepted, for a reason
// the error names (the option is off, the connection is not protected,
// the parameter is repeated or too long); the token is never in the
// text. It wraps ErrUnauthenticated (401).
var ErrQueryToken = fmt.Errorf("%w: secret_token refused", ErrUnauthenticated)

// queryTokenError is an ErrQueryToken with its reason.
type queryTokenError struct{ reason string }

func (e *queryTokenError) Error() string {
	return "secret_token refused: " + e.reason + "; send the token as Authorization: JWT <token>"
}

func (e *queryTokenError) Unwrap() error { return ErrQueryToken }

// errNoQueryToken: the request carries no secret_token.
var errNoQueryToken = errors.New("no secret_token")

// queryToken returns the JWT of r's secret_token, or errNoQueryToken, or
// an ErrQueryToken. A token in a URL is written down wherever URLs are
// (proxy and access logs, browser history, Referer headers), so it is
// taken only when Config.QueryToken is on and the request travelled
// protected:
//
//   - over TLS to this server (r.TLS is set), or
//   - from a trusted proxy (Config.TrustedProxies) that says
//     X-Forwarded-Proto: https (it terminated TLS), or
//   - from a loopback peer that is not a trusted proxy (the request never
//     left the host).
//
// The value may carry Tiledesk's "JWT " (or "Bearer ") scheme, as the
// dashboard stores its token; it is at most MaxQueryTokenBytes.
func (a *Authenticator) queryToken(r *http.Request) (string, error) {
	vs, ok := r.URL.Query()[QueryTokenParam]
	if !ok {
		return "", errNoQueryToken
	}
	switch {
	case !a.queryTokens:
		return "", &queryTokenError{"this server does not take tokens in the URL (segmatch serve --query-token)"}
	case len(vs) != 1:
		return "", &queryTokenError{"given more than once"}
	case len(vs[0]) > MaxQueryTokenBytes:
		return "", &queryTokenError{fmt.Sprintf("longer than %d bytes", MaxQueryTokenBytes)}
	case !a.protected(r):
		return "", &queryTokenError{"the request did not come over TLS (directly, or via a trusted proxy's X-Forwarded-Proto: https) nor from loopback"}
	}
	tok := strings.TrimSpace(vs[0])
	if scheme, rest, ok := strings.Cut(tok, " "); ok && (strings.EqualFold(scheme, "JWT") || strings.EqualFold(scheme, "Bearer")) {
		tok = strings.TrimSpace(rest)
	}
	return tok, nil
}

// protected reports whether r reached this server without crossing a
// network in clear (see queryToken).
func (a *Authenticator) protected(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr := peer.Addr().Unmap()
	if inAny(addr, a.trusted) {
		vs := r.Header.Values("X-Forwarded-Proto")
		return len(vs) == 1 && strings.EqualFold(strings.TrimSpace(vs[0]), "https")
	}
	return addr.IsLoopback()
}
