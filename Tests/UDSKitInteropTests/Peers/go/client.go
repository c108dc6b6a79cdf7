// Command client sends one message to a Unix-domain-socket server, written the way Go programs usually do it.
//
//	client -path /tmp/app.sock -message hello              # write, CloseWrite, print the reply
//	client -path /tmp/app.sock -mode close -message hello  # write, Close: fire and forget
//	date | client -path /tmp/app.sock                      # the message is standard input
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"os"
)

func main() {
	path := flag.String("path", "", "the server's socket file")
	mode := flag.String("mode", "reply", "reply: CloseWrite, then read and print the reply; close: just Close")
	message := flag.String("message", "", "the message (default: standard input)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("client: ")
	if *path == "" {
		log.Fatal("-path is required")
	}

	var payload []byte
	if *message != "" {
		payload = []byte(*message)
	} else {
		var err error
		if payload, err = io.ReadAll(os.Stdin); err != nil {
			log.Fatal(err)
		}
	}

	conn, err := net.Dial("unix", *path)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := conn.Write(payload); err != nil {
		log.Fatal(err)
	}
	switch *mode {
	case "close":
		if err := conn.Close(); err != nil {
			log.Fatal(err)
		}
	case "reply":
		defer conn.Close()
		if err := conn.(*net.UnixConn).CloseWrite(); err != nil {
			log.Fatal(err)
		}
		reply, err := io.ReadAll(conn)
		if err != nil {
			log.Fatal(err)
		}
		os.Stdout.Write(reply)
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
}
