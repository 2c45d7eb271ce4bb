package main

import (
	"bufio"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v2"
)

// The compose file an operator starts with: Redis keeps its data and is
// checked for health, and the bot waits for that health and finds Redis by
// its service name.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       string            `yaml:"build"`
			Command     []string          `yaml:"command"`
			EnvFile     string            `yaml:"env_file"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
			DependsOn map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Restart string `yaml:"restart"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	redis, bot := c.Services["redis"], c.Services["aimabot"]
	if !strings.HasPrefix(redis.Image, "redis:") || !slices.Contains(redis.Command, "--appendonly") ||
		len(redis.Volumes) == 0 || len(redis.Healthcheck.Test) == 0 {
		t.Errorf("redis service = %+v; want a redis image with --appendonly, a volume and a healthcheck", redis)
	}
	if vol, _, _ := strings.Cut(redis.Volumes[0], ":"); c.Volumes == nil || !containsKey(c.Volumes, vol) {
		t.Errorf("redis's volume %q is not a named volume of the file (%v)", vol, c.Volumes)
	}
	if bot.Build != "." || bot.EnvFile != ".env" || bot.DependsOn["redis"].Condition != "service_healthy" ||
		!strings.HasPrefix(bot.Environment["REDIS_URL"], "redis://redis:") || bot.Restart == "" {
		t.Errorf("aimabot service = %+v; want built here, .env, REDIS_URL on the redis service, waiting for its health, restarted", bot)
	}
	if _, err := os.Stat("../../deploy/aimabot.env"); err != nil {
		t.Errorf("the README's env file to copy: %v", err)
	}
}

func containsKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// The Dockerfile: a static binary built in one stage, run in a distroless
// (or scratch) image as a user who is not root, with a volume for the
// embedded store and a health check by the binary itself.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	var user, health, volume string
	static := false
	// A line ending in a backslash goes on on the next.
	for _, line := range strings.Split(strings.ReplaceAll(string(raw), "\\\n", " "), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			from = append(from, f[1])
		case "USER":
			user = f[1]
		case "HEALTHCHECK":
			health = line
		case "VOLUME":
			volume = f[1]
		case "RUN":
			static = static || strings.Contains(line, "CGO_ENABLED=0")
		}
	}
	final := from[len(from)-1]
	if len(from) < 2 || !(strings.Contains(final, "distroless") || final == "scratch") {
		t.Errorf("FROM = %q; want a build stage and a distroless or scratch final stage", from)
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
		t.Errorf("USER = %q; want a user who is not root", user)
	}
	if !strings.Contains(health, `"/aimabot", "healthcheck"`) || volume == "" || !static {
		t.Errorf("HEALTHCHECK %q, VOLUME %q, CGO_ENABLED=0 %t; want the binary's own check, a volume, a static build", health, volume, static)
	}
}

// The systemd unit: a user made for the service, its state directory for
// the embedded store, the environment file, and hardening. When
// systemd-analyze is on the machine, it checks the unit too.
func TestSystemdUnit(t *testing.T) {
	const path = "../../deploy/aimabot.service"
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	keys := map[string][]string{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = append(keys[k], v)
		}
	}
	for k, want := range map[string]string{
		"DynamicUser": "yes", "StateDirectory": "aimabot", "EnvironmentFile": "/etc/aimabot/aimabot.env",
		"Environment": "AIMABOT_DATA=/var/lib/aimabot", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
		"ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "", "Restart": "on-failure",
	} {
		if !slices.Contains(keys[k], want) {
			t.Errorf("%s: %s = %q; want %q", path, k, keys[k], want)
		}
	}
	if exec := keys["ExecStart"]; len(exec) != 1 || !strings.HasSuffix(exec[0], "aimabot serve") {
		t.Errorf("ExecStart = %q; want aimabot serve", exec)
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Logf("systemd-analyze is not on this machine: the unit's keys are checked above, not by systemd")
		return
	}
	// systemd-analyze wants the program to exist: this test's binary
	// stands in for it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	unit := filepath.Join(t.TempDir(), "aimabot.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(raw), "/usr/local/bin/aimabot", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// Every setting has a variable and a flag: the README's table pairs them,
// `aimabot serve --help` lists each flag with its variable, every variable
// the program reads is in the table, and every flag of serve but the load
// tests' --unlimited is too.
func TestEveryVariableHasAFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(readme), "## Configuration")
	table, _, _ = strings.Cut(table, "\n\n`")
	row := regexp.MustCompile("(?m)^\\| `([A-Z_]+)`(?: / `--([a-z-]+)`)? \\|")
	flagOf := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		flagOf[m[1]] = m[2]
		if m[2] == "" {
			t.Errorf("README: %s has no flag", m[1])
		}
	}
	if len(flagOf) < 20 {
		t.Fatalf("README's configuration table: %d rows read; want them all", len(flagOf))
	}
	help, errOut, code := aimabot(t, nil, "", "serve", "--help")
	if code != 0 {
		t.Fatalf("serve --help = exit %d, %q; want 0", code, errOut)
	}
	for env, flag := range flagOf {
		if !regexp.MustCompile(`(?m)^  -`+flag+`\b`).MatchString(help) || !strings.Contains(help, "env "+env) {
			t.Errorf("serve --help does not list -%s with env %s", flag, env)
		}
	}
	listed := regexp.MustCompile(`(?m)^  -([a-z-]+)`)
	for _, m := range listed.FindAllStringSubmatch(help, -1) {
		if m[1] == "unlimited" {
			continue // load tests against a fake Bot API only; not configuration
		}
		if !slices.Contains(slices.Collect(maps.Values(flagOf)), m[1]) {
			t.Errorf("serve's flag -%s is not in the README's table", m[1])
		}
	}
	read := regexp.MustCompile(`(?:getenv\(|envOr\(getenv, |env: +)"([A-Z_]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, _ := os.ReadFile(f)
		for _, m := range read.FindAllStringSubmatch(string(src), -1) {
			if _, ok := flagOf[m[1]]; !ok {
				t.Errorf("%s reads %s, which the README's table does not list", f, m[1])
			}
		}
	}
	for _, f := range storeFlags() {
		if flagOf[f.env] != f.flag {
			t.Errorf("README pairs %s with --%s; the program with --%s", f.env, flagOf[f.env], f.flag)
		}
	}
	for _, cmd := range []string{"console", "eligibility", "documents", "ask", "version", "healthcheck"} {
		if out, errOut, code := aimabot(t, nil, "", cmd, "--help"); code != 0 || !strings.Contains(out, "usage: aimabot "+cmd) {
			t.Errorf("%s --help = exit %d, %q, %q; want its flags and 0", cmd, code, out, errOut)
		}
	}
}

func TestPseudoCommit(t *testing.T) {
	for _, tt := range []struct{ version, want string }{
		{"v0.0.0-20261208011543-26f78f63000f", "26f78f63000f"},
		{"v0.0.0-20261208011543-26f78f63000f+dirty", "26f78f63000f"},
		{"v1.2.3", ""},
		{"(devel)", ""},
		{"v1.2.3-rc.1-longertagname", ""},
	} {
		if got := pseudoCommit(tt.version); got != tt.want {
			t.Errorf("pseudoCommit(%q) = %q; want %q", tt.version, got, tt.want)
		}
	}
}

// The listener is on loopback when polling (only the host's tools need
// it), on every interface with a webhook (Telegram must reach it).
func TestDefaultListen(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "127.0.0.1:8080"},
		{map[string]string{"WEBHOOK_URL": "https://bot.example.org/hook"}, ":8080"},
	} {
		if got := defaultListen(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("defaultListen(%v) = %q; want %q", tt.env, got, tt.want)
		}
	}
}

// The image's build context leaves out local stores and the token's .env,
// and keeps .git, from which the build stamps the commit.
func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	for _, want := range []string{"**/aimabot-data", ".env"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore lacks %q", want)
		}
	}
	for _, l := range lines {
		if strings.TrimSpace(l) == ".git" {
			t.Errorf(".dockerignore leaves out .git: the image's binary could not name its commit")
		}
	}
}
