// Command server answers the framed protocol (a 4-byte big-endian length, then the payload) on a Unix-domain
// socket, written the way Go programs usually do it: a goroutine per connection reads frames with io.ReadFull and
// encoding/binary and writes each one back (or, with -ack, its byte count in decimal and "\n"), flushing whenever
// it has read everything the client sent so far. SIGTERM or SIGINT closes the listener, which removes the socket
// file, and exits 0.
//
//	server -path /tmp/app.sock
//	server -path /tmp/app.sock -ack
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

const maxFrame = 64 << 20

func main() {
	path := flag.String("path", "", "the socket file to create (it must not exist)")
	ack := flag.Bool("ack", false, "reply with each frame's byte count instead of the frame")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("server: ")
	if *path == "" {
		log.Fatal("-path is required")
	}

	ln, err := net.Listen("unix", *path)
	if err != nil {
		log.Fatal(err)
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		ln.Close() // a listener made by Listen unlinks its socket file on Close
	}()

	for {
		conn, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			log.Print(err)
			continue
		}
		go serve(conn, *ack)
	}
}

func serve(conn net.Conn, ack bool) {
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 256<<10)
	w := bufio.NewWriterSize(conn, 256<<10)
	var header [4]byte
	for {
		if _, err := io.ReadFull(r, header[:]); err != nil {
			if err != io.EOF {
				log.Print("read: ", err)
			}
			return
		}
		n := binary.BigEndian.Uint32(header[:])
		if n > maxFrame {
			log.Printf("frame of %d bytes is too large", n)
			return
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			log.Print("read: ", err)
			return
		}
		if ack {
			payload = []byte(strconv.Itoa(len(payload)) + "\n")
		}
		binary.BigEndian.PutUint32(header[:], uint32(len(payload)))
		w.Write(header[:])
		w.Write(payload)
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return // the client went away
			}
		}
	}
}
