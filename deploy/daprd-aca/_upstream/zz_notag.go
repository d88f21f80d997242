// Package components replaces github.com/dapr/dapr/cmd/daprd/components/zz_notag.go in the
// copy of the pinned dapr module that tooling/daprd.py builds from.
//
// Upstream, that file panics unless the build sets the stablecomponents or allcomponents
// tag; with either tag the runtime registers its whole component catalogue. Bindery builds
// with neither and registers exactly its own set in ../components.go, so the upstream
// package is left empty. (`go build -overlay` cannot do this: it refuses to replace files
// under GOMODCACHE.) Go ignores this folder because its name starts with an underscore.
package components
