import Glibc

enum OutputFormat { case text, json, markdown }

/// The command line, parsed by hand (no dependency, nothing that could start threads).
struct Options {
    static let usage = """
        usage: wirecodec-bench [--filter PATTERN | --case W/S] [--json | --markdown] [--iterations N]
                               [--rounds N] [--round-ms MS] [--no-memory | --memory-only]
                               [--list | --list-cases] [--sweep [--sweep-dir DIR]] [--write-json FILE]

          --filter PATTERN  run only the cases whose "workload/subject" contains PATTERN
          --case W/S        run only the case whose "workload/subject" is exactly W/S
          --json            print {"results":[...],"memory":[...]} on stdout
          --markdown        print the README table on stdout
          --iterations N    N calls per round, no calibration (callgrind: compare two values of N)
          --rounds N        rounds per case (default 15; the median is reported)
          --round-ms MS     calibrate each round to at least MS milliseconds (default 20)
          --no-memory       skip the memory section (also skipped when --filter is given)
          --memory-only     print only the memory section
          --list            list workloads and subjects, then exit
          --list-cases      print "workload/subject ops-per-call" per line, then exit
          --sweep           measure how cost grows with size (HTTP heads, WebSocket messages,
                            deflate; --filter FAMILY selects families), write sweep.json and one
                            SVG chart per family (default 7 rounds of 10 ms per case)
          --sweep-dir DIR   where the sweep writes (default Spec/performance)
          --write-json FILE also write the --json document of the same run to FILE
        """

    var configuration = BenchConfiguration()
    var format = OutputFormat.text
    var list = false
    var memoryOnly = false
    var listCases = false
    var sweep = false
    var sweepDirectory = "Spec/performance"
    var jsonPath: String?
    var roundsGiven = false
    var roundMillisecondsGiven = false

    static func fail(_ message: String) -> Never {
        printError("wirecodec-bench: \(message)\n\(usage)\n")
        exit(64)
    }

    static func parse(_ commandLine: [String]) -> Options {
        var options = Options()
        var arguments = commandLine[...]
        func integer(after option: String) -> Int {
            guard let text = arguments.popFirst(), let value = Int(text), value >= 0 else {
                fail("\(option) needs a non-negative integer")
            }
            return value
        }
        while let argument = arguments.popFirst() {
            switch argument {
            case "--filter":
                guard let pattern = arguments.popFirst() else { fail("--filter needs a pattern") }
                options.configuration.filter = pattern
            case "--case":
                guard let name = arguments.popFirst() else { fail("--case needs workload/subject") }
                options.configuration.exactCase = name
            case "--list-cases": options.listCases = true
            case "--json": options.format = .json
            case "--markdown": options.format = .markdown
            case "--iterations": options.configuration.iterations = integer(after: argument)
            case "--rounds":
                options.configuration.rounds = max(1, integer(after: argument))
                options.roundsGiven = true
            case "--round-ms":
                options.configuration.roundNanoseconds = UInt64(integer(after: argument)) * 1_000_000
                options.roundMillisecondsGiven = true
            case "--sweep": options.sweep = true
            case "--sweep-dir":
                guard let directory = arguments.popFirst() else { fail("--sweep-dir needs a directory") }
                options.sweepDirectory = directory
            case "--write-json":
                guard let path = arguments.popFirst() else { fail("--write-json needs a file") }
                options.jsonPath = path
            case "--no-memory": options.configuration.memory = false
            case "--memory-only": options.memoryOnly = true
            case "--list": options.list = true
            case "--help", "-h":
                print(usage)
                exit(0)
            default: fail("unknown argument \(argument)")
            }
        }
        return options
    }
}
