"""The medexempt code generator: XSD set + manifest -> typed bindings, envelope codecs and WSDL."""

__version__ = "0.1.0"
