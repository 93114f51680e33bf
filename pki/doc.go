// Package pki makes and loads the cluster's TLS material: a private cluster
// CA and node certificates signed by it, and the mutual-TLS configurations
// of the control plane (the coordinator requires a client certificate from
// the same CA; clients verify the coordinator's certificate and host name).
//
// Layout of a TLS directory (ringtrain certs init):
//
//	ca.crt    the cluster CA certificate (every node needs it)
//	ca.key    the CA's private key (only where certificates are issued)
//	node.crt  a node certificate for server and client use
//	node.key  its private key
//
// Keys are ECDSA P-256, written 0600; TLS 1.3 only.
package pki
