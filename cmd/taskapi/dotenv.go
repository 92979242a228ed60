package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// maxDotenvBytes bounds the size of a .env file.
const maxDotenvBytes = 1 << 20

// readDotenv reads the .env file at path. A missing file is no error and
// gives no variables; a symbolic link to a missing file is an error (a
// deployment that links .env to a secret whose file is gone must not start
// without its settings).
func readDotenv(path string) (map[string]string, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			target, _ := os.Readlink(path)
			return nil, fmt.Errorf("%s is a symbolic link to %s, which does not exist: fix the link, or remove %s to run without it", path, target, path)
		}
	}
	b, err := readSmallFile(path, maxDotenvBytes)
	if err != nil || b == nil {
		return nil, err
	}
	vars, err := parseDotenv(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return vars, nil
}

// readSmallFile reads the file at path, refusing one over max bytes. A
// missing file gives nil and no error.
func readSmallFile(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err == nil && len(b) > max {
		err = fmt.Errorf("%s: over %d bytes", path, max)
	}
	return b, err
}

// parseDotenv parses the common .env format, one variable per line:
//
//	# a comment
//	KEY=value            # unquoted: trimmed, a " #" starts a comment
//	export KEY=value     # "export " is ignored
//	KEY="a \"b\"\n"      # double quotes: \n \r \t \" \\ escapes
//	KEY='raw $text'      # single quotes: taken literally
//
// There is no variable expansion and no multi-line value. A later line
// overrides an earlier one. Errors name the line ("line 3: ...").
func parseDotenv(b []byte) (map[string]string, error) {
	vars := make(map[string]string)
	for i, line := range strings.Split(strings.TrimPrefix(string(b), "\uFEFF"), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, rest, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok {
			return nil, fmt.Errorf("line %d: want KEY=VALUE, got %q", n, truncate(line, 40))
		}
		if !validEnvName(key) {
			return nil, fmt.Errorf("line %d: invalid variable name %q", n, truncate(key, 40))
		}
		val, err := dotenvValue(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", n, key, err)
		}
		vars[key] = val
	}
	return vars, nil
}

func dotenvValue(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	switch s[0] {
	case '\'':
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", errors.New("unterminated single quote")
		}
		if err := onlyComment(s[end+2:]); err != nil {
			return "", err
		}
		return s[1 : end+1], nil
	case '"':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch c := s[i]; c {
			case '"':
				if err := onlyComment(s[i+1:]); err != nil {
					return "", err
				}
				return b.String(), nil
			case '\\':
				i++
				if i == len(s) {
					return "", errors.New("unterminated double quote")
				}
				switch e := s[i]; e {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				case 't':
					b.WriteByte('\t')
				case '"', '\\', '$':
					b.WriteByte(e)
				default:
					b.WriteByte('\\')
					b.WriteByte(e)
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("unterminated double quote")
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "\t#"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s), nil
}

// onlyComment checks what follows a closing quote: nothing or a comment.
func onlyComment(s string) error {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '#' {
		return nil
	}
	return fmt.Errorf("unexpected %q after the closing quote", truncate(s, 20))
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// withDotenv returns a getenv that answers from the real environment
// (lookup, as os.LookupEnv) and, for variables not set there, from the .env
// file at path. A variable set to the empty string in the environment
// wins over .env, as it does in the dotenv libraries of other languages:
// that is how one turns off, for one run, what .env sets.
func withDotenv(lookup func(string) (string, bool), path string) (func(string) string, error) {
	file, err := readDotenv(path)
	if err != nil {
		return nil, err
	}
	return overlay(lookup, file), nil
}

// overlay returns a getenv that answers from lookup and, for variables
// lookup does not have, from file.
func overlay(lookup func(string) (string, bool), file map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := lookup(k); ok {
			return v
		}
		return file[k]
	}
}
