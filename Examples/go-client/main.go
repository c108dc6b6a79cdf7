// Sends one message to a UDSKit server (uds serve) and checks its acknowledgement: the byte count and "\n".
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go-client SOCKET MESSAGE")
		os.Exit(64)
	}
	conn, err := net.Dial("unix", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // e.g. "dial unix /tmp/app.sock: connect: no such file or directory"
		os.Exit(3)
	}
	defer conn.Close()
	message := []byte(os.Args[2])
	if _, err := conn.Write(message); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	conn.(*net.UnixConn).CloseWrite() // end of message: the server replies now
	reply, err := io.ReadAll(conn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	count, err := strconv.Atoi(strings.TrimSuffix(string(reply), "\n"))
	if err != nil || count != len(message) {
		fmt.Fprintf(os.Stderr, "not acknowledged: %q\n", reply)
		os.Exit(2)
	}
	fmt.Printf("acknowledged %d bytes\n", count)
}
