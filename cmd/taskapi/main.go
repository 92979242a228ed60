// Command taskapi is the Task Manager API: a JSON API of tasks and projects
// per user, secured by OAuth 2.0 bearer tokens (Auth0 or any OpenID Connect
// provider), on SQLite or PostgreSQL. Run `taskapi -h` for its commands and
// `taskapi COMMAND -h` for the flags and variables of one.
//
// Configuration comes from environment variables and from a .env file in
// the working directory; the environment wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	getenv, err := loadEnv(os.Args, os.LookupEnv, dotenvFile)
	if err == nil {
		err = run(ctx, os.Args, getenv, os.Stdin, os.Stdout, os.Stderr)
	}
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "taskapi: %v\n", err)
		os.Exit(1)
	}
}

// loadEnv returns the variables of the command line args: those of the
// environment (lookup) and, for variables not set there, of the .env file
// at path. A variable set in the environment wins even when it is empty. An
// unreadable or invalid .env is an error, except for a command line that
// only asks for help or the version, which reads no configuration (it then
// gets the environment alone).
func loadEnv(args []string, lookup func(string) (string, bool), path string) (func(string) string, error) {
	getenv, err := withDotenv(lookup, path)
	if err != nil && readsNoConfig(args) {
		return overlay(lookup, nil), nil
	}
	return getenv, err
}

// readsNoConfig reports whether the command line args asks for help or the
// version only.
func readsNoConfig(args []string) bool {
	if len(args) < 2 {
		return true
	}
	switch args[1] {
	case "-h", "-help", "--help", "help", "-version", "--version", "version":
		return true
	}
	for _, a := range args[2:] {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

// errUsage reports a command line that could not be parsed; the message
// has been printed already.
var errUsage = errors.New("usage error")

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

var commands = []command{
	{"serve", "run the API (needs ISSUER_BASE_URL and AUDIENCE)", runServe},
	{"dev", "run the API with a local development token issuer, zero config", runDev},
	{"token", "mint an access token from the development issuer's key", runToken},
	{"seed", "add demo data (a project and two tasks) for users, idempotently", runSeed},
	{"migrate", "apply database migrations, then exit", runMigrate},
	{"login", "get an access token from the identity provider (browser, device or client credentials)", runLogin},
	{"decode", "show a token's header and claims, and whether the service would accept it", runDecode},
	{"backup", "copy the SQLite database, consistently, while the service runs", runBackup},
	{"version", "print the module version, VCS revision and Go version of this binary", runVersion},
}

// environment is what a subcommand may touch besides its arguments.
type environment struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run runs the taskapi command line args (args[0] is the program name)
// with the variables of getenv.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		usage(stderr)
		return errUsage
	}
	name := args[1]
	switch name {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		return c.run(ctx, &environment{getenv, stdin, stdout, stderr}, args[2:])
	}
	fmt.Fprintf(stderr, "taskapi: unknown command %q\n\n", name)
	usage(stderr)
	return errUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `taskapi is the Task Manager API, secured by OAuth 2.0 bearer tokens.

Usage:

	taskapi COMMAND [flags]

Commands:

`)
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Configuration comes from environment variables and from a .env file in the
working directory (the environment wins). Run "taskapi COMMAND -h" for the
flags and variables of a command.
`)
}

// newFlagSet returns a flag set for a subcommand whose -h prints synopsis,
// the flags, the variables of the command and note.
func newFlagSet(env *environment, name, synopsis, note string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: taskapi %s\n\n", synopsis)
		fs.PrintDefaults()
		fmt.Fprintf(out, "\nEnvironment (or .env):\n")
		printVariables(out, name)
		fmt.Fprint(out, note)
	}
	return fs
}

// parseFlags parses args, turning a parse failure into errUsage (the
// flag package has printed it) and refusing stray arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "taskapi %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}
