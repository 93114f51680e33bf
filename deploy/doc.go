// Package deploy holds the deployment files (docker/Dockerfile, compose.yaml)
// and the tests that exercise them against a real Docker engine; it has no
// Go code of its own. See README.md here.
package deploy
