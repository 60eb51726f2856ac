import Glibc

enum OutputFormat { case text, json, markdown }

/// The command line, parsed by hand (no dependency, nothing that could start threads).
struct Options {
    static let usage = """
        usage: wirecodec-bench [--filter PATTERN | --case W/S] [--json | --markdown] [--iterations N]
                               [--rounds N] [--round-ms MS] [--no-memory | --memory-only]
                               [--list | --list-cases]

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
        """

    var configuration = BenchConfiguration()
    var format = OutputFormat.text
    var list = false
    var memoryOnly = false
    var listCases = false

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
            case "--rounds": options.configuration.rounds = max(1, integer(after: argument))
            case "--round-ms": options.configuration.roundNanoseconds = UInt64(integer(after: argument)) * 1_000_000
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
