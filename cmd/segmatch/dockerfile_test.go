package main

import (
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dockerfile is the repository's Dockerfile, its instructions one a
// line (continuations joined, comments dropped).
func dockerfile(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return lines
}

// shellWords splits a RUN line as sh would, for the quoting a build line
// uses: words, 'single' and "double" quotes (no expansions).
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			require.GreaterOrEqual(t, j, 0, "unterminated quote in %q", s)
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '$' || c == '`' || c == '\\' || c == ';' || c == '&' || c == '|':
			t.Fatalf("the build line %q uses %q, which this test does not interpret", s, c)
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// TestDockerfileBuild: Docker is not available here, so the Dockerfile's
// build is exercised by running its `go build` with exactly its flags and
// its ENV (CGO_ENABLED=0) from the repository root, and the binary must
// be static, trimmed, stripped and run `version`. The stages are checked
// too: a golang:1.26 builder, a distroless/static or scratch image, a
// non-root USER, ENTRYPOINT segmatch.
func TestDockerfileBuild(t *testing.T) {
	lines := dockerfile(t)
	var froms, env, build []string
	user, entry := "", ""
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			froms = append(froms, rest)
		case "ENV":
			if len(froms) == 1 {
				env = append(env, strings.Fields(rest)...)
			}
		case "RUN":
			if strings.Contains(rest, "go build") {
				require.Nil(t, build, "one go build line")
				build = shellWords(t, rest)
			}
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entry = rest
		}
	}
	require.Len(t, froms, 2, "multi-stage: a builder and the image")
	assert.Regexp(t, `^golang:1\.26(\.\d+)?(-\S+)? AS \w+$`, froms[0])
	assert.Regexp(t, `^(gcr\.io/distroless/static(-debian\d+)?(:\S+)?|scratch)$`, froms[1])
	assert.Regexp(t, `^\S+$`, user)
	assert.NotRegexp(t, `^(root|0)(:|$)`, user, "USER is not root")
	assert.Regexp(t, `^\["(/usr/local/bin/)?segmatch"`, entry)
	assert.Contains(t, env, "CGO_ENABLED=0")

	require.NotNil(t, build, "a RUN go build line")
	// CGO_ENABLED=0 go build ...: leading assignments are environment too
	for len(build) > 0 && strings.Contains(build[0], "=") && !strings.HasPrefix(build[0], "-") {
		env, build = append(env, build[0]), build[1:]
	}
	require.GreaterOrEqual(t, len(build), 3)
	require.Equal(t, []string{"go", "build"}, build[:2])
	args := build[2:]
	assert.Contains(t, args, "-trimpath")
	assert.Contains(t, args, "-ldflags=-s -w")
	assert.Equal(t, "./cmd/segmatch", args[len(args)-1])

	if testing.Short() {
		t.Skip("builds the binary as the Dockerfile does")
	}
	// the same arguments, the output redirected here
	out := filepath.Join(t.TempDir(), "segmatch")
	var goArgs []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-o":
			i++
			goArgs = append(goArgs, "-o", out)
		case strings.HasPrefix(a, "-o="):
			goArgs = append(goArgs, "-o="+out)
		default:
			goArgs = append(goArgs, a)
		}
	}
	require.Contains(t, goArgs, out, "the build line names its output with -o")
	cmd := exec.Command("go", append([]string{"build"}, goArgs...)...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), env...)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s\n%s", strings.Join(goArgs, " "), msg)

	v, err := exec.Command(out, "version").CombinedOutput()
	require.NoError(t, err, string(v))
	assert.Regexp(t, regexp.MustCompile(`^segmatch \S+\n(.*\n)*go       `+regexp.QuoteMeta(runtime.Version())), string(v))

	bi, err := buildinfo.ReadFile(out)
	require.NoError(t, err)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	assert.Equal(t, "0", settings["CGO_ENABLED"])
	assert.Equal(t, "true", settings["-trimpath"])
	if ld, ok := settings["-ldflags"]; ok { // go leaves it out with -trimpath
		assert.Equal(t, "-s -w", ld)
	}

	if runtime.GOOS == "linux" {
		f, err := elf.Open(out)
		require.NoError(t, err)
		defer f.Close()
		for _, p := range f.Progs {
			assert.NotEqual(t, elf.PT_INTERP, p.Type, "a static binary has no dynamic loader")
		}
		assert.Nil(t, f.Section(".symtab"), "-s: no symbol table")
		assert.Nil(t, f.Section(".debug_info"), "-w: no DWARF")
		assert.Nil(t, f.Section(".zdebug_info"), "-w: no DWARF")
	}
}
