import ChorusDaemonCommands

// All logic lives in ChorusDaemonCommands so that it can be tested; this only runs it. The
// executable, not the library, links jemalloc (Package.swift), so tests keep the system allocator.
await ChorusDaemon.launch()
