package hostfs

import (
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFuser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, out string
		want      []Holder
	}{
		{
			name: "one holder",
			out: "                     USER        PID ACCESS COMMAND\n" +
				"/mnt:                root     kernel mount /mnt\n" +
				"                     root        123 ..c.. sleep\n",
			want: []Holder{{PID: 123, Command: "sleep", Access: []string{"cwd"}}},
		},
		{
			name: "only the mount itself",
			out: "                     USER        PID ACCESS COMMAND\n" +
				"/mnt:                root     kernel mount /mnt\n",
		},
		{
			// A name longer than the first column stands on its own line (psmisc 23).
			name: "long name",
			out: "                     USER        PID ACCESS COMMAND\n" +
				"/var/opt/opscode/drbd/data:\n" +
				"                     root     kernel mount /var/opt/opscode/drbd/data\n" +
				"                     opscode-pgsql   4242 ..c.. postgres\n" +
				"                     root       4300 F.ce. bash\n" +
				"                     opscode   77 f...m beam.smp\n",
			want: []Holder{
				{PID: 4242, Command: "postgres", Access: []string{"cwd"}},
				{PID: 4300, Command: "bash", Access: []string{"open for writing", "cwd", "exe"}},
				{PID: 77, Command: "beam.smp", Access: []string{"open file", "mmap"}},
			},
		},
		{
			name: "first holder on the name line, command with a blank, noise",
			out: "Cannot stat file /proc/1/fd/0: Permission denied\n" +
				"                     USER        PID ACCESS COMMAND\n" +
				"/data:               app         9 ..c.. my daemon\n" +
				"                     app         9 f.... my daemon\n" +
				"                     root     kernel swap /data/swapfile\n" +
				"Specified filename /nope does not exist.\n",
			want: []Holder{{PID: 9, Command: "my daemon", Access: []string{"cwd", "open file"}}},
		},
		{name: "empty", out: ""},
	}
	for _, tt := range tests {
		got := ParseFuser(tt.out)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestParseHolders(t *testing.T) {
	t.Parallel()
	fuser := "@@hostfs fuser\n                     USER        PID ACCESS COMMAND\n" +
		"/mnt:                root     kernel mount /mnt\n                     root        123 ..c.. sleep\n"
	hs, err := ParseHolders(fuser)
	if err != nil || DescribeHolders(hs, 5) != "sleep (pid 123, cwd)" {
		t.Errorf("fuser: %v, %v", hs, err)
	}
	proc := "@@hostfs proc\n88 cwd postgres\n88 fd postgres\n91 fd\n90 root chrooted thing\nbad line\n"
	hs, err = ParseHolders(proc)
	want := []Holder{
		{PID: 88, Command: "postgres", Access: []string{"cwd", "open file"}},
		{PID: 91, Access: []string{"open file"}},
		{PID: 90, Command: "chrooted thing", Access: []string{"root"}},
	}
	if diff := cmp.Diff(want, hs); err != nil || diff != "" {
		t.Errorf("proc: %v (-want +got):\n%s", err, diff)
	}
	if hs, err := ParseHolders("@@hostfs proc"); err != nil || len(hs) != 0 {
		t.Errorf("nothing found: %v, %v", hs, err)
	}
	if _, err := ParseHolders("sh: 1: Syntax error"); err == nil {
		t.Error("output without a section marker accepted")
	}
}

func TestDescribeHolders(t *testing.T) {
	t.Parallel()
	hs := []Holder{{PID: 1, Command: "a", Access: []string{"cwd"}}, {PID: 2, Command: "b"}, {PID: 3}}
	if got := DescribeHolders(hs, 2); got != "a (pid 1, cwd), b (pid 2) and 1 more" {
		t.Errorf("got %q", got)
	}
	if got := DescribeHolders(hs[2:], 0); got != "? (pid 3)" {
		t.Errorf("got %q", got)
	}
	if got := DescribeHolders(nil, 3); got != "" {
		t.Errorf("got %q", got)
	}
}

func TestIsBusy(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"umount: /var/opt/opscode/drbd/data: target is busy.\n": true,
		"umount.nfs: /var/www/html: device is busy":             true,
		"umount: /mnt: not mounted.":                            false,
		"":                                                      false,
	} {
		if IsBusy(s) != want {
			t.Errorf("IsBusy(%q) = %v", s, !want)
		}
	}
}

func TestHoldersCommand(t *testing.T) {
	t.Parallel()
	got := HoldersCommand("/var/opt/opscode/drbd/data")
	for _, want := range []string{
		"if command -v fuser >/dev/null 2>&1; then echo '@@hostfs fuser'; fuser -vm /var/opt/opscode/drbd/data 2>&1; else echo '@@hostfs proc'; find ",
		`\( -lname /var/opt/opscode/drbd/data -o -lname '/var/opt/opscode/drbd/data/*' \)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("HoldersCommand lacks %q:\n%s", want, got)
		}
	}
	// Quoted as one word and escaped for find's pattern matching.
	got = HoldersCommand("/mnt/it's [x]*")
	for _, want := range []string{`fuser -vm '/mnt/it'"'"'s [x]*'`, `-lname '/mnt/it'"'"'s \[x\]\*'`, `-lname '/mnt/it'"'"'s \[x\]\*/*'`} {
		if !strings.Contains(got, want) {
			t.Errorf("HoldersCommand lacks %q:\n%s", want, got)
		}
	}
	if got := procHoldersCommand("/mnt/data/"); !strings.Contains(got, "-lname /mnt/data -o -lname '/mnt/data/*'") {
		t.Errorf("trailing slash kept: %s", got)
	}
}

// TestProcHoldersCommandOnThisHost runs the /proc fallback with the real /bin/sh against a
// process whose working directory is a temporary directory.
func TestProcHoldersCommandOnThisHost(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	if _, err := exec.LookPath("find"); err != nil {
		t.Skip("no find")
	}
	dir := t.TempDir()
	sleep := exec.Command("sleep", "30")
	sleep.Dir = dir
	if err := sleep.Start(); err != nil {
		t.Skip("cannot start sleep:", err)
	}
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	want := Holder{PID: sleep.Process.Pid, Command: "sleep", Access: []string{"cwd"}}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command("/bin/sh", "-c", "echo '@@hostfs proc'; "+procHoldersCommand(dir)).Output()
		if err != nil {
			t.Fatalf("fallback: %v", err)
		}
		hs, err := ParseHolders(string(out))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			if h.PID == want.PID {
				if diff := cmp.Diff(want, h); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sleep (pid %s) not listed:\n%s", strconv.Itoa(want.PID), out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func FuzzParseHolders(f *testing.F) {
	f.Add("@@hostfs fuser\n                     USER        PID ACCESS COMMAND\n/mnt:                root     kernel mount /mnt\n                     root        123 ..c.. sleep\n")
	f.Add("@@hostfs proc\n88 cwd postgres\n")
	f.Add("x:\n a 1 . b\n")
	f.Fuzz(func(t *testing.T, out string) {
		hs, err := ParseHolders(out)
		if err != nil {
			return
		}
		seen := map[int]bool{}
		for _, h := range hs {
			if h.PID <= 0 || seen[h.PID] {
				t.Fatalf("bad or repeated pid in %+v", hs)
			}
			seen[h.PID] = true
		}
		_ = DescribeHolders(hs, 3)
	})
}
