// Command server answers one message per connection on a Unix-domain socket, written the way Go programs usually
// do it: a goroutine per connection reads until EOF, replies with the byte count and a newline (or, with -echo, the
// message itself) and closes. SIGTERM or SIGINT closes the listener, which removes the socket file, and exits 0.
//
//	server -path /tmp/app.sock
//	server -path /tmp/app.sock -echo
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	path := flag.String("path", "", "the socket file to create (it must not exist)")
	echo := flag.Bool("echo", false, "reply with the message instead of its byte count")
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
		go serve(conn, *echo)
	}
}

func serve(conn net.Conn, echo bool) {
	defer conn.Close()
	message, err := io.ReadAll(conn)
	if err != nil {
		log.Print(err)
		return
	}
	reply := []byte(fmt.Sprintf("%d\n", len(message)))
	if echo {
		reply = message
	}
	conn.Write(reply) // a client that closed without reading gets nothing; that is fine
}
