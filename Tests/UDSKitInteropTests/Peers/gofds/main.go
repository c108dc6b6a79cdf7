// Command gofds passes an open file with a message over a Unix-domain socket (SCM_RIGHTS), the way Go programs
// usually do it: net.UnixConn's WriteMsgUnix with syscall.UnixRights, and ReadMsgUnix with
// syscall.ParseSocketControlMessage and syscall.ParseUnixRights.
//
//	gofds -path /tmp/app.sock -file data.txt -message hello  # client: pass the file, CloseWrite, print the reply
//	gofds -serve -path /tmp/app.sock                         # server: one connection, reply with the passed file
//
// The server prints "ready" once it listens, takes one connection, reads the message and the descriptors that came
// with it, and replies with "CONTENTS / MESSAGE / N": the first passed file's contents, the message and the number
// of descriptors passed. It then closes the listener, which removes its socket file, and exits 0.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"syscall"
)

func main() {
	path := flag.String("path", "", "the server's socket file")
	serve := flag.Bool("serve", false, "run the server (default: the client)")
	file := flag.String("file", "", "client: the file whose descriptor is passed")
	message := flag.String("message", "here", "client: the message sent with the descriptor (not empty)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gofds: ")
	if *path == "" {
		log.Fatal("-path is required")
	}
	if *serve {
		runServer(*path)
	} else {
		runClient(*path, *file, *message)
	}
}

func runClient(path, file, message string) {
	f, err := os.Open(file)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	n, oobn, err := conn.WriteMsgUnix([]byte(message), syscall.UnixRights(int(f.Fd())), nil)
	if err != nil || n != len(message) || oobn == 0 {
		log.Fatalf("WriteMsgUnix: wrote %d bytes, %d of control data: %v", n, oobn, err)
	}
	if err := conn.CloseWrite(); err != nil {
		log.Fatal(err)
	}
	reply, err := io.ReadAll(conn)
	if err != nil {
		log.Fatal(err)
	}
	os.Stdout.Write(reply)
}

func runServer(path string) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close() // a listener made by Listen unlinks its socket file on Close
	fmt.Println("ready")
	conn, err := ln.AcceptUnix()
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	// Descriptors may come with any read of the stream: collect them from every one until EOF.
	var message []byte
	var fds []int
	buf := make([]byte, 4096)
	oob := make([]byte, syscall.CmsgSpace(16*4))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		message = append(message, buf[:n]...)
		if oobn > 0 {
			fds = append(fds, parseRights(oob[:oobn])...)
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0 && oobn == 0) {
			break
		}
		if err != nil {
			log.Fatal("ReadMsgUnix: ", err)
		}
	}
	if len(fds) == 0 {
		log.Fatal("no descriptor came with the message")
	}
	passed := os.NewFile(uintptr(fds[0]), "passed")
	contents, err := io.ReadAll(passed)
	if err != nil {
		log.Fatal("reading the passed file: ", err)
	}
	passed.Close()
	for _, fd := range fds[1:] {
		syscall.Close(fd)
	}
	reply := fmt.Sprintf("%s / %s / %d", contents, message, len(fds))
	if _, err := conn.Write([]byte(reply)); err != nil {
		log.Fatal(err)
	}
}

// parseRights returns the descriptors in the SCM_RIGHTS messages of oob.
func parseRights(oob []byte) []int {
	messages, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		log.Fatal("ParseSocketControlMessage: ", err)
	}
	var fds []int
	for _, m := range messages {
		rights, err := syscall.ParseUnixRights(&m)
		if err != nil {
			log.Fatal("ParseUnixRights: ", err)
		}
		fds = append(fds, rights...)
	}
	return fds
}
