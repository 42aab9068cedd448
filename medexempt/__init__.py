"""medexempt: the generator (`medexempt.generator`), the reference service's bindings
(`medexempt.generated`) and the reference service (`medexempt.exemptions`).

One import name for the whole project, so that installing it puts no generic module (`generated`,
`generator`) into anyone's environment. In the repository the three are the top-level folders
`generator/`, `generated/` and `exemptions/`, linked here; the wheel holds them under this package.
"""
