package sshx

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// chunkReader returns its text a few bytes per Read and hides any WriterTo, as an SSH
// channel does, so io.Copy has to use the destination's ReadFrom (or a buffer of its own).
type chunkReader struct {
	s   string
	n   int
	err error // returned instead of io.EOF at the end
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.s == "" {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.s)
	r.s = r.s[n:]
	return n, nil
}

// TestLineWriter_readFrom checks that io.Copy into a lineWriter (how x/crypto/ssh copies a
// session's stdout and stderr) goes through its ReadFrom and delivers the same output and
// lines as Write: lines split across reads, a trailing partial line at finish, \r\n endings.
func TestLineWriter_readFrom(t *testing.T) {
	if _, ok := any(&lineWriter{}).(io.ReaderFrom); !ok {
		t.Fatal("lineWriter does not implement io.ReaderFrom: io.Copy allocates 32 KiB per stream")
	}
	const text = "first line\r\nsecond\n\nthird, long enough to span reads\nno newline"
	for _, chunk := range []int{1, 3, 7, 64, 1 << 16} {
		var lines []string
		w := &lineWriter{onLine: func(l string) { lines = append(lines, l) }}
		n, err := io.Copy(w, &chunkReader{s: text, n: chunk})
		if err != nil || n != int64(len(text)) {
			t.Fatalf("chunk %d: io.Copy = %d, %v", chunk, n, err)
		}
		w.finish()
		want := []string{"first line", "second", "", "third, long enough to span reads", "no newline"}
		if strings.Join(lines, "|") != strings.Join(want, "|") || w.String() != text {
			t.Fatalf("chunk %d: lines %q, output %q", chunk, lines, w.String())
		}
	}
	// A read error is returned with the bytes read so far kept.
	boom := errors.New("channel broke")
	w := &lineWriter{}
	n, err := io.Copy(w, &chunkReader{s: "partial", n: 4, err: boom})
	if !errors.Is(err, boom) || n != 7 || w.String() != "partial" {
		t.Fatalf("io.Copy = %d, %v; output %q", n, err, w.String())
	}
}
