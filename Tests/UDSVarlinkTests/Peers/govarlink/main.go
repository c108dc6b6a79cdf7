// Command govarlink is a varlink peer written with Go's varlink implementation (github.com/varlink/go, Debian's
// golang-github-varlink-go-dev): a server of org.example.ping, and a client that calls it.
//
//	govarlink server -address unix:/tmp/ping.sock       # until SIGTERM or SIGINT, then exits 0
//	govarlink client -address unix:/tmp/ping.sock       # checks Ping, Count (more), errors; prints a summary
//	govarlink bench -address unix:/tmp/ping.sock -calls 20000 -mode pipelined   # prints calls/s
//	govarlink framedbench -address /tmp/echo.sock -calls 20000   # the same loop with UDSKit's length-prefixed frames
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/varlink/go/varlink"
)

const description = `# The tests' ping interface.
interface org.example.ping

method Ping(ping: string) -> (pong: string)
method Count(count: int) -> (number: int)
error NotReady (retry_after: int)
`

type pingRequest struct {
	Ping string `json:"ping"`
}
type pingReply struct {
	Pong string `json:"pong"`
}
type countRequest struct {
	Count int `json:"count"`
}
type countReply struct {
	Number int `json:"number"`
}

// ping implements org.example.ping by hand, as the interface generator's code would.
type ping struct{}

func (ping) VarlinkGetName() string        { return "org.example.ping" }
func (ping) VarlinkGetDescription() string { return description }

func (ping) VarlinkDispatch(ctx context.Context, c varlink.Call, method string) error {
	switch method {
	case "Ping":
		var in pingRequest
		if err := c.GetParameters(&in); err != nil {
			return c.ReplyInvalidParameter(ctx, "ping")
		}
		return c.Reply(ctx, pingReply{Pong: in.Ping})
	case "Count":
		var in countRequest
		if err := c.GetParameters(&in); err != nil {
			return c.ReplyInvalidParameter(ctx, "count")
		}
		if !c.WantsMore() {
			return c.ReplyError(ctx, "org.example.ping.NotReady", map[string]int{"retry_after": 0})
		}
		c.Continues = true
		for i := 0; i < in.Count-1; i++ {
			if err := c.Reply(ctx, countReply{Number: i}); err != nil {
				return err
			}
		}
		c.Continues = false
		return c.Reply(ctx, countReply{Number: in.Count - 1})
	}
	return c.ReplyMethodNotFound(ctx, method)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: govarlink server|client|bench -address unix:PATH")
		os.Exit(64)
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	address := flags.String("address", "", "the varlink address")
	calls := flags.Int("calls", 10000, "bench: the number of calls")
	mode := flags.String("mode", "awaited", "bench: awaited (one at a time) or pipelined")
	flags.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "server":
		err = serve(*address)
	case "client":
		err = client(*address)
	case "bench":
		err = bench(*address, *calls, *mode)
	case "framedbench":
		err = framedBench(*address, *calls, *mode)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "govarlink:", err)
		os.Exit(1)
	}
}

func serve(address string) error {
	service, err := varlink.NewService("Go", "govarlink", "1", "https://github.com/varlink/go")
	if err != nil {
		return err
	}
	if err := service.RegisterInterface(ping{}); err != nil {
		return err
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		service.Shutdown()
	}()
	fmt.Println("listening on", address)
	return service.Listen(context.Background(), address, 0)
}

func client(address string) error {
	ctx := context.Background()
	conn, err := varlink.NewConnection(ctx, address)
	if err != nil {
		return err
	}
	defer conn.Close()

	var vendor, product, version, url string
	var interfaces []string
	if err := conn.GetInfo(ctx, &vendor, &product, &version, &url, &interfaces); err != nil {
		return fmt.Errorf("GetInfo: %w", err)
	}
	fmt.Printf("info: %s %s %v\n", vendor, product, interfaces)
	description, err := conn.GetInterfaceDescription(ctx, "org.example.ping")
	if err != nil {
		return fmt.Errorf("GetInterfaceDescription: %w", err)
	}
	fmt.Printf("description: %d bytes\n", len(description))

	var pong pingReply
	if err := conn.Call(ctx, "org.example.ping.Ping", pingRequest{Ping: "from go"}, &pong); err != nil {
		return fmt.Errorf("Ping: %w", err)
	}
	fmt.Println("pong:", pong.Pong)

	receive, err := conn.Send(ctx, "org.example.ping.Count", countRequest{Count: 5}, varlink.More)
	if err != nil {
		return err
	}
	numbers := []int{}
	for {
		var reply countReply
		flags, err := receive(ctx, &reply)
		if err != nil {
			return fmt.Errorf("Count: %w", err)
		}
		numbers = append(numbers, reply.Number)
		if flags&varlink.Continues == 0 {
			break
		}
	}
	fmt.Println("count:", numbers)

	// Pipelined: every call written before the first reply is read.
	receivers := []func(context.Context, interface{}) (uint64, error){}
	for i := 0; i < 100; i++ {
		receive, err := conn.Send(ctx, "org.example.ping.Ping", pingRequest{Ping: fmt.Sprint(i)}, 0)
		if err != nil {
			return err
		}
		receivers = append(receivers, receive)
	}
	for i, receive := range receivers {
		var reply pingReply
		if _, err := receive(ctx, &reply); err != nil || reply.Pong != fmt.Sprint(i) {
			return fmt.Errorf("pipelined Ping %d: %q, %v", i, reply.Pong, err)
		}
	}
	fmt.Println("pipelined: 100")

	err = conn.Call(ctx, "org.example.ping.Nope", struct{}{}, &pong)
	var notFound *varlink.MethodNotFound
	if !errors.As(err, &notFound) {
		return fmt.Errorf("Nope: want MethodNotFound, got %v", err)
	}
	fmt.Println("error:", notFound.Method)
	err = conn.Call(ctx, "org.example.ping.Ping", map[string]int{"ping": 1}, &pong)
	var invalid *varlink.InvalidParameter
	if !errors.As(err, &invalid) {
		return fmt.Errorf("Ping with an int: want InvalidParameter, got %v", err)
	}
	fmt.Println("invalid:", invalid.Parameter)
	return nil
}

// bench calls Ping `calls` times, one at a time or with every call written before its reply is read (in windows
// of 100), and prints calls per second.
func bench(address string, calls int, mode string) error {
	ctx := context.Background()
	conn, err := varlink.NewConnection(ctx, address)
	if err != nil {
		return err
	}
	defer conn.Close()
	request := pingRequest{Ping: "x"}
	start := time.Now()
	window := 1
	if mode == "pipelined" {
		window = 100
	}
	receivers := make([]func(context.Context, interface{}) (uint64, error), 0, window)
	for done := 0; done < calls; done += window {
		receivers = receivers[:0]
		for i := 0; i < window; i++ {
			receive, err := conn.Send(ctx, "org.example.ping.Ping", request, 0)
			if err != nil {
				return err
			}
			receivers = append(receivers, receive)
		}
		for _, receive := range receivers {
			var reply pingReply
			if _, err := receive(ctx, &reply); err != nil {
				return err
			}
		}
	}
	elapsed := time.Since(start).Seconds()
	fmt.Printf("%.0f\n", float64(calls)/elapsed)
	return nil
}

// framedBench runs bench's loop over UDSKit's framed protocol (a 4-byte big-endian length, then the payload) with
// a request of the same size as bench's call, against a `uds serve --framed` echo server: the baseline.
func framedBench(path string, calls int, mode string) error {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	defer conn.Close()
	reader := bufio.NewReader(conn)
	writer := bufio.NewWriter(conn)
	payload := []byte(`{"method":"org.example.ping.Ping","parameters":{"ping":"x"}}`)
	frame := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(frame, uint32(len(payload)))
	copy(frame[4:], payload)
	reply := make([]byte, 64<<10)
	window := 1
	if mode == "pipelined" {
		window = 100
	}
	start := time.Now()
	for done := 0; done < calls; done += window {
		for i := 0; i < window; i++ {
			writer.Write(frame)
		}
		if err := writer.Flush(); err != nil {
			return err
		}
		for i := 0; i < window; i++ {
			var header [4]byte
			if _, err := io.ReadFull(reader, header[:]); err != nil {
				return err
			}
			if _, err := io.ReadFull(reader, reply[:binary.BigEndian.Uint32(header[:])]); err != nil {
				return err
			}
		}
	}
	fmt.Printf("%.0f\n", float64(calls)/time.Since(start).Seconds())
	return nil
}
