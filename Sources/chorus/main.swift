import ChorusCommandLine

// All logic lives in ChorusCommandLine so that it can be tested; this only runs it.
await ChorusCommand.launch()
