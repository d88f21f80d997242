// Command daprd is the official Dapr runtime with exactly Bindery's component set.
//
// It is built without the stablecomponents/allcomponents tags, so the runtime's own
// component list registers nothing; components.go registers what components/ uses.
package main

import "github.com/dapr/dapr/cmd/daprd/app"

func main() {
	app.Run()
}
