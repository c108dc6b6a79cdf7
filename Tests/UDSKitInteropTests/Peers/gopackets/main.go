// Command gopackets talks to seqpacket ("unixpacket", SOCK_SEQPACKET) and datagram ("unixgram", SOCK_DGRAM) Unix
// sockets with Go's standard library only, as Go programs usually do it.
//
//	gopackets -mode packet-client -path P -messages a,b,c  # one connection: each message one Write, each reply printed
//	gopackets -mode packet-server -path P                  # echo each packet as one packet, on every connection
//	gopackets -mode gram-client -path P -messages a,b      # each message one datagram from a bound socket of its own
//	gopackets -mode gram-server -path P                    # echo each datagram to its sender
//
// The clients print each reply on a line of its own and exit 0; a reply cut short (longer than -bufsize, 64 KiB by
// default) is an error. The servers print "ready" once they receive, and at SIGTERM remove their socket file and
// exit 0.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	mode := flag.String("mode", "", "packet-client, packet-server, gram-client or gram-server")
	path := flag.String("path", "", "the server's socket file")
	messages := flag.String("messages", "", "clients: the messages, separated by commas")
	bufsize := flag.Int("bufsize", 64*1024, "clients: the buffer each reply is read into")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gopackets: ")
	if *path == "" {
		log.Fatal("-path is required")
	}
	var list []string
	if *messages != "" {
		list = strings.Split(*messages, ",")
	}
	switch *mode {
	case "packet-client":
		packetClient(*path, list, *bufsize)
	case "packet-server":
		packetServer(*path)
	case "gram-client":
		gramClient(*path, list, *bufsize)
	case "gram-server":
		gramServer(*path)
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
}

// onSIGTERM runs cleanup, removes the socket file and exits 0 at SIGTERM.
func onSIGTERM(path string, cleanup func()) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM)
	go func() {
		<-signals
		cleanup()
		os.Remove(path)
		os.Exit(0)
	}()
}

func packetClient(path string, messages []string, bufsize int) {
	conn, err := net.Dial("unixpacket", path)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	unix := conn.(*net.UnixConn)
	buffer := make([]byte, bufsize)
	for _, message := range messages {
		n, err := conn.Write([]byte(message))
		if err != nil || n != len(message) {
			log.Fatalf("Write: wrote %d of %d bytes: %v", n, len(message), err)
		}
		n, _, flags, _, err := unix.ReadMsgUnix(buffer, nil)
		if err != nil {
			log.Fatalf("Read: %v", err)
		}
		if n == 0 {
			log.Fatal("Read: the server closed the connection instead of replying")
		}
		if flags&syscall.MSG_TRUNC != 0 {
			log.Fatalf("Read: the reply was longer than the %d-byte buffer", bufsize)
		}
		fmt.Printf("%s\n", strings.TrimSuffix(string(buffer[:n]), "\n"))
	}
}

func packetServer(path string) {
	listener, err := net.Listen("unixpacket", path)
	if err != nil {
		log.Fatal(err)
	}
	onSIGTERM(path, func() { listener.Close() })
	fmt.Println("ready")
	for {
		conn, err := listener.Accept()
		if err != nil {
			select {} // closed at SIGTERM: the signal handler exits
		}
		go func(conn net.Conn) {
			defer conn.Close()
			buffer := make([]byte, 256*1024)
			for {
				n, err := conn.Read(buffer)
				if err == io.EOF || n == 0 {
					return
				}
				if err != nil {
					log.Printf("Read: %v", err)
					return
				}
				if _, err := conn.Write(buffer[:n]); err != nil {
					log.Printf("Write: %v", err)
					return
				}
			}
		}(conn)
	}
}

func gramClient(path string, messages []string, bufsize int) {
	directory, err := os.MkdirTemp("", "gopackets-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(directory)
	local := &net.UnixAddr{Name: filepath.Join(directory, "client.sock"), Net: "unixgram"}
	conn, err := net.ListenUnixgram("unixgram", local)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	server := &net.UnixAddr{Name: path, Net: "unixgram"}
	buffer := make([]byte, bufsize)
	for _, message := range messages {
		n, err := conn.WriteToUnix([]byte(message), server)
		if err != nil || n != len(message) {
			log.Fatalf("WriteToUnix: wrote %d of %d bytes: %v", n, len(message), err)
		}
		n, _, flags, from, err := conn.ReadMsgUnix(buffer, nil)
		if err != nil {
			log.Fatalf("ReadFromUnix: %v", err)
		}
		if flags&syscall.MSG_TRUNC != 0 {
			log.Fatalf("ReadFromUnix: the reply was longer than the %d-byte buffer", bufsize)
		}
		if from == nil || from.Name != path {
			log.Fatalf("ReadFromUnix: a reply from %v, not from %s", from, path)
		}
		fmt.Printf("%s\n", strings.TrimSuffix(string(buffer[:n]), "\n"))
	}
}

func gramServer(path string) {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		log.Fatal(err)
	}
	onSIGTERM(path, func() { conn.Close() })
	fmt.Println("ready")
	buffer := make([]byte, 256*1024)
	for {
		n, from, err := conn.ReadFromUnix(buffer)
		if err != nil {
			select {} // closed at SIGTERM: the signal handler exits
		}
		if from == nil || from.Name == "" {
			log.Printf("a datagram of %d bytes from an unbound socket: not answered", n)
			continue
		}
		if _, err := conn.WriteToUnix(buffer[:n], from); err != nil {
			log.Printf("WriteToUnix %s: %v", from.Name, err)
		}
	}
}
