// Package pki makes and loads the cluster's TLS material: a private cluster
// CA and node certificates signed by it, and the mutual-TLS configurations
// of the control plane (the coordinator requires a client certificate from
// the same CA; clients verify the coordinator's certificate and host name).
//
// Layout of a TLS directory (ringtrain certs init):
//
//	ca.crt    the cluster CA certificate (every node needs it)
//	ca.key    the CA's private key (only where certificates are issued)
//	node.crt  a node certificate for server and client use (the
//	          coordinator's; valid for localhost, 127.0.0.1, ::1 and --hosts)
//	node.key  its private key
//	NAME.crt, NAME.key  made by Issue (certs issue --name NAME): client-only
//	          (no host names; clients refuse it as a server) unless Server
//	          (--server), then for server and client use, valid for Hosts only
//
// Init and Issue refuse to replace an existing file (ErrExists). Keys are
// ECDSA P-256; every file is written 0600 and the directory made 0700;
// TLS 1.3 only.
package pki
