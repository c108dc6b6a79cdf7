import Foundation
import Testing
import UDSKitTestSupport

@Suite("uds serve --systemd: socket activation as systemd does it")
struct SystemdActivationTests {
    /// Binds and listens on PATH, then starts `uds serve PATH --systemd …` with the socket as descriptor 3 and
    /// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES set, the way systemd passes a `.socket` unit's socket; sends one
    /// message, stops the server, and prints what happened.
    static let launcher = #"""
        import os, socket, sys, subprocess, signal, time
        uds, path = sys.argv[1], sys.argv[2]
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(16)
        pid = os.fork()
        if pid == 0:
            os.dup2(listener.fileno(), 3)
            os.set_inheritable(3, True)
            os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="control")
            os.execv(uds, [uds, "serve", path, "--systemd", "--systemd-name", "control", "--quiet"])
        listener.close()
        # The socket listens already: a client may connect before the server even runs.
        sent = subprocess.run([uds, "send", path, "activated"], capture_output=True, text=True, timeout=30)
        print("send", sent.returncode, sent.stdout.strip())
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
        print("server", os.waitstatus_to_exitcode(status))
        print("file", os.path.exists(path))
        """#

    @Test func aSocketPassedBySystemdIsServedAndItsFileLeftToSystemd() async throws {
        try await withTemporaryDirectory { dir in
            let python = try requireExecutable("python3")
            let script = dir + "/launch.py"
            try Self.launcher.write(toFile: script, atomically: true, encoding: .utf8)
            let run = try await ChildProcess.run(python, [script, udsExecutable, dir + "/activated.sock"], timeout: 60)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "send 0 9\nserver 0\nfile True\n", "stderr: \(run.stderr)")
        }
    }

    @Test func withoutActivationTheServerSaysSo() async throws {
        try await withTemporaryDirectory { dir in
            let serve = try await ChildProcess.run(udsExecutable, ["serve", dir + "/x.sock", "--systemd"])
            #expect(serve.status != 0)
            #expect(serve.stderr.contains("no socket passed by systemd socket activation"), "\(serve.stderr)")
        }
    }
}
