// Command client talks the framed protocol (a 4-byte big-endian length, then the payload) to a Unix-domain-socket
// server over one connection, written the way Go programs usually do it: net.Dial, bufio, encoding/binary.
//
//	client -path /tmp/app.sock a bb ccc                                   # one frame each, print each reply
//	client -path /tmp/app.sock -count 100 -sizes 0,1,102400 -expect echo  # generated frames, check, summarise
//	client -path /tmp/app.sock -mode pipelined -count 10000 -expect echo  # write all while a goroutine reads
//
// Generated frame i of size s holds byte (7*i + j) mod 256 at offset j, or with -text, "frame i " repeated and cut
// to s (just "frame i" without -sizes). Replies are checked against -expect: echo (the frame itself), ack (its byte
// count in decimal and "\n") or any. With -print each reply is printed on its own line; otherwise one summary line,
// "ok frames=N bytes=B". A reply that does not match, or a connection that ends early, exits 1.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
)

const maxFrame = 64 << 20

func writeFrame(w io.Writer, payload []byte) error {
	var header [4]byte
	binary.BigEndian.PutUint32(header[:], uint32(len(payload)))
	if _, err := w.Write(header[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var header [4]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(header[:])
	if n > maxFrame {
		return nil, fmt.Errorf("reply frame of %d bytes is too large", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, fmt.Errorf("reply cut short: %w", err)
	}
	return payload, nil
}

func generate(i, size int, text bool) []byte {
	if text {
		base := "frame " + strconv.Itoa(i)
		if size < 0 {
			return []byte(base)
		}
		return []byte(strings.Repeat(base+" ", size/(len(base)+1)+1)[:size])
	}
	payload := make([]byte, size)
	for j := range payload {
		payload[j] = byte(7*i + j)
	}
	return payload
}

func main() {
	path := flag.String("path", "", "the server's socket file")
	mode := flag.String("mode", "pingpong", "pingpong: write a frame, read its reply; pipelined: write all, read all")
	count := flag.Int("count", 0, "generate this many frames (instead of one per argument)")
	sizeList := flag.String("sizes", "", "comma-separated sizes of the generated frames, used in turn")
	text := flag.Bool("text", false, "generate text frames (\"frame i\") instead of binary ones")
	expect := flag.String("expect", "any", "what each reply must be: echo, ack or any")
	printReplies := flag.Bool("print", false, "print each reply on its own line instead of a summary")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("client: ")
	if *path == "" {
		log.Fatal("-path is required")
	}

	var frames [][]byte
	if *count > 0 {
		sizes := []int{-1}
		if *sizeList != "" {
			sizes = nil
			for _, field := range strings.Split(*sizeList, ",") {
				size, err := strconv.Atoi(field)
				if err != nil {
					log.Fatalf("bad -sizes: %v", err)
				}
				sizes = append(sizes, size)
			}
		}
		if !*text && sizes[0] < 0 {
			log.Fatal("binary frames need -sizes")
		}
		for i := 0; i < *count; i++ {
			frames = append(frames, generate(i, sizes[i%len(sizes)], *text))
		}
	} else {
		for _, arg := range flag.Args() {
			frames = append(frames, []byte(arg))
		}
	}

	conn, err := net.Dial("unix", *path)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	reader := bufio.NewReaderSize(conn, 256<<10)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()

	total := 0
	check := func(i int, reply []byte) {
		var want []byte
		switch *expect {
		case "echo":
			want = frames[i]
		case "ack":
			want = []byte(strconv.Itoa(len(frames[i])) + "\n")
		}
		if want != nil && !bytes.Equal(reply, want) {
			out.Flush()
			log.Fatalf("reply %d: got %d bytes %q, want %d bytes %q", i, len(reply), clip(reply), len(want), clip(want))
		}
		total += len(reply)
		if *printReplies {
			out.Write(reply)
			out.WriteByte('\n')
		}
	}

	switch *mode {
	case "pingpong":
		for i, frame := range frames {
			if err := writeFrame(conn, frame); err != nil {
				log.Fatalf("write frame %d: %v", i, err)
			}
			reply, err := readFrame(reader)
			if err != nil {
				log.Fatalf("read reply %d: %v", i, err)
			}
			check(i, reply)
		}
	case "pipelined":
		// The replies are read in a goroutine of their own while this one writes, so neither side can fill its
		// socket buffer and wait for the other forever.
		type result struct {
			reply []byte
			err   error
		}
		replies := make(chan result, 1024)
		go func() {
			for range frames {
				reply, err := readFrame(reader)
				replies <- result{reply, err}
				if err != nil {
					return
				}
			}
		}()
		writer := bufio.NewWriterSize(conn, 256<<10)
		go func() {
			for i, frame := range frames {
				if err := writeFrame(writer, frame); err != nil {
					log.Fatalf("write frame %d: %v", i, err)
				}
			}
			if err := writer.Flush(); err != nil {
				log.Fatalf("write: %v", err)
			}
		}()
		for i := range frames {
			r := <-replies
			if r.err != nil {
				log.Fatalf("read reply %d: %v", i, r.err)
			}
			check(i, r.reply)
		}
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
	if !*printReplies {
		fmt.Fprintf(out, "ok frames=%d bytes=%d\n", len(frames), total)
	}
}

func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
