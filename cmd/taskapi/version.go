package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

func runVersion(_ context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "version", "version", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	printVersion(env.stdout, info)
	return nil
}

// printVersion writes the build of the binary: the module's version
// ("(devel)" when built from a checkout, vX.Y.Z when installed with
// go install …@vX.Y.Z), the VCS revision and time it was built from
// (absent when built with -buildvcs=false, or outside a repository),
// "+dirty" when the work tree had changes, and the Go toolchain.
func printVersion(w io.Writer, info *debug.BuildInfo) {
	if info == nil {
		fmt.Fprintln(w, "taskapi: no build information (built without module support)")
		return
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	revision := settings["vcs.revision"]
	switch {
	case revision == "":
		revision = "unknown (built without VCS information)"
	case settings["vcs.modified"] == "true":
		revision += "+dirty"
	}
	fmt.Fprintf(w, "taskapi %s\n", version)
	fmt.Fprintf(w, "module   %s\n", info.Main.Path)
	fmt.Fprintf(w, "revision %s\n", revision)
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(w, "time     %s\n", t)
	}
	fmt.Fprintf(w, "go       %s\n", info.GoVersion)
}
