"""The answer extractor's rules, one module per kind of answer (`finevidbench.scoring.extract` is the entry point).

`text` prepares a response for every reader (reasoning dropped, markers shared); `choice` reads
option letters and yes/no verdicts, `integer` counts and `permutation` frame orders. These modules
import nothing from the protocol, so the protocol's answer types (`finevidbench.protocol.answers`)
can build on them without an import cycle.
"""
