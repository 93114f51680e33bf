package control

import (
	"context"
	"crypto/tls"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/internal/secret"
)

// authorize checks the bearer token derived from the cluster secret.
func authorize(ctx context.Context, token string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if got, ok := strings.CutPrefix(v, "Bearer "); ok && secret.Equal(got, token) {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "missing or wrong cluster credentials (different cluster secret?)")
}

// AuthUnary is the coordinator's interceptor that refuses a unary call
// without the control-plane token (codes.Unauthenticated).
func AuthUnary(token string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := authorize(ctx, token); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// AuthStream is AuthUnary for streams.
func AuthStream(token string) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := authorize(ss.Context(), token); err != nil {
			return err
		}
		return h(srv, ss)
	}
}

// Credentials attaches the control-plane token to a client's calls.
// Unless Insecure is set, gRPC refuses to send it over a connection without
// transport security.
type Credentials struct {
	Token    string
	Insecure bool
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c Credentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + c.Token}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (c Credentials) RequireTransportSecurity() bool { return !c.Insecure }

// DialOptions are a control-plane client's: mutual TLS with tlsCfg (a
// pki.Bundle's ClientConfig), or plaintext when tlsCfg is nil, and the
// bearer token derived from the cluster secret on every call.
func DialOptions(tlsCfg *tls.Config, token string) []grpc.DialOption {
	if tlsCfg == nil {
		return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(Credentials{Token: token, Insecure: true})}
	}
	return []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)),
		grpc.WithPerRPCCredentials(Credentials{Token: token})}
}
