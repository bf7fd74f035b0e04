"""`pulse demo`: realistic, deterministic demo data sets (CONTRACT §5).

Each part is a pure generator module returning JSON-ready envelopes (`cli.demo.loans`,
`cli.demo.wealth`); `cli.demo.command` writes them to a file or publishes them.
"""
