// wirecodec-bench: the codec and its peers on the same bytes in one process.
// Synchronous on purpose: no async main, no Task, no concurrency threads (valgrind).

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
let workloads = Workloads.all

if options.sweep {
    var configuration = options.configuration
    if !options.roundsGiven { configuration.rounds = 7 }
    if !options.roundMillisecondsGiven { configuration.roundNanoseconds = 10_000_000 }
    Sweep.run(configuration: configuration, directory: options.sweepDirectory)
} else if options.listCases {
    for workload in workloads where workload.subjects.contains(where: { options.configuration.selects(workload.name, $0) }) {
        for benchCase in workload.makeCases() where options.configuration.selects(workload.name, benchCase.subject) {
            print("\(workload.name)/\(benchCase.subject) \(benchCase.opsPerCall)")
        }
    }
} else if options.list {
    for workload in workloads {
        let subjects = workload.makeCases().map(\.subject)
        print("\(workload.name): \(subjects.joined(separator: ", ")) — \(workload.operation)")
    }
} else {
    let configuration = options.configuration
    let results = options.memoryOnly
        ? [] : Harness.run(workloads, configuration: configuration, progress: options.format != .json)
    let memory = options.memoryOnly || (configuration.memory && configuration.selectsEverything) ? Memory.measure() : []
    switch options.format {
    case .json: print(Report.json(results, memory: memory))
    case .markdown: print(Report.markdown(results, memory: memory, workloads: workloads), terminator: "")
    case .text: print(Report.text(results, memory: memory, workloads: workloads), terminator: "")
    }
    if let path = options.jsonPath { Sweep.write(Report.json(results, memory: memory) + "\n", to: path) }
    printError("checksum \(String(benchChecksum, radix: 16))\n")
}
