"""Checks a Factur-X PDF with the reference tools; run by tests/it/invoice/facturx.rs.

usage: facturx_check.py INVOICE.pdf LEVEL TYPECODE

- the XML is extracted by the `factur-x` package (Akretion) from the attachment named
  factur-x.xml, and validated against its XSD for LEVEL (basic, en16931, ...);
- the EN 16931 business rules (sums, VAT breakdown, mandatory parties) are checked by the
  package's own Factur-X schematron, run with Saxon-HE (`saxonche`): any fatal assert fails;
- the PDF: the catalog's /AF holds the attachment with /AFRelationship /Alternative and the
  text/xml subtype; the XMP declares PDF/A-3B and the Factur-X properties, its `fx` schema
  described in the PDF/A extension schemas.

Prints OK and exits 0, or prints what is wrong and exits 1.
"""

import os
import sys
from importlib import resources

import facturx
from lxml import etree
from pypdf import PdfReader

LEVEL_TO_XMP = {"minimum": "MINIMUM", "basicwl": "BASIC WL", "basic": "BASIC",
                "en16931": "EN 16931", "extended": "EXTENDED"}
FX_NS = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "fx": FX_NS,
    "svrl": "http://purl.oclc.org/dsdl/svrl",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}

problems = []


def check(ok, what):
    if not ok:
        problems.append(what)


def xmp_value(root, prefix, name):
    """A property written as an element or as an attribute of an rdf:Description."""
    uri = NS[prefix]
    for el in root.iter("{%s}%s" % (uri, name)):
        return (el.text or "").strip()
    for desc in root.iter("{%s}Description" % NS["rdf"]):
        value = desc.get("{%s}%s" % (uri, name))
        if value is not None:
            return value.strip()
    return None


def schematron_failures(xml_bytes, level):
    from saxonche import PySaxonProcessor

    folder = resources.files("facturx").joinpath("xsd_and_schematron")
    xslt = str(folder.joinpath(facturx.facturx.FACTURX_LEVEL2schematron[level]))
    with PySaxonProcessor(license=False) as proc:
        xslt30 = proc.new_xslt30_processor()
        # Compiled from the file, so the code lists it reads (document(...)) resolve beside it.
        executable = xslt30.compile_stylesheet(stylesheet_file=xslt)
        node = proc.parse_xml(xml_text=xml_bytes.decode("utf-8"))
        svrl = executable.transform_to_string(xdm_node=node)
    report = etree.fromstring(svrl.encode("utf-8"))
    failures = []
    for fa in report.iter("{%s}failed-assert" % NS["svrl"]):
        flag = fa.get("flag", "fatal")
        text = " ".join("".join(fa.itertext()).split())
        if flag == "fatal":
            failures.append("%s at %s: %s" % (fa.get("id"), fa.get("location"), text))
    return failures


def main(path, level, type_code):
    with open(path, "rb") as f:
        pdf = f.read()

    name, xml = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=True)
    check(name == "factur-x.xml", "no XSD-valid factur-x.xml found in the PDF (found %r)" % (name,))
    if not xml:
        return
    root = etree.fromstring(xml)
    check(facturx.get_level(root) == level,
          "XML level %r, expected %r" % (facturx.get_level(root), level))
    try:
        facturx.xml_check_xsd(xml, flavor="factur-x", level=level)
    except Exception as e:  # the package raises a bare Exception with the XSD error
        problems.append("XSD: %s" % e)
    found_type = root.findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=NS)
    check(found_type == type_code, "TypeCode %r, expected %r" % (found_type, type_code))
    for failure in schematron_failures(xml, level):
        problems.append("schematron %s" % failure)

    reader = PdfReader(path)
    catalog = reader.trailer["/Root"]
    af = catalog.get("/AF")
    check(af is not None, "the catalog has no /AF")
    specs = [spec.get_object() for spec in (af.get_object() if af is not None else [])]
    fx_specs = [s for s in specs if s.get("/UF", s.get("/F")) == "factur-x.xml"]
    check(len(fx_specs) == 1, "/AF has %d file specs named factur-x.xml" % len(fx_specs))
    for spec in fx_specs:
        check(spec.get("/AFRelationship") == "/Alternative",
              "/AFRelationship is %r" % spec.get("/AFRelationship"))
        stream = spec["/EF"]["/F"].get_object()
        check(stream.get("/Subtype") == "/text/xml", "embedded file /Subtype %r" % stream.get("/Subtype"))
        check(stream.get_data() == xml, "the /AF file is not the XML the package extracted")
        check("/ModDate" in stream.get("/Params", {}), "the embedded file has no /ModDate")

    metadata = catalog.get("/Metadata")
    check(metadata is not None, "the catalog has no /Metadata")
    if metadata is None:
        return
    xmp = etree.fromstring(metadata.get_object().get_data())
    check(xmp_value(xmp, "pdfaid", "part") == "3", "pdfaid:part is %r" % xmp_value(xmp, "pdfaid", "part"))
    check(xmp_value(xmp, "pdfaid", "conformance") == "B",
          "pdfaid:conformance is %r" % xmp_value(xmp, "pdfaid", "conformance"))
    expected = {"DocumentType": "INVOICE", "DocumentFileName": "factur-x.xml", "Version": "1.0",
                "ConformanceLevel": LEVEL_TO_XMP[level]}
    for prop, want in expected.items():
        got = xmp_value(xmp, "fx", prop)
        check(got == want, "fx:%s is %r, expected %r" % (prop, got, want))
    schemas = [
        li for li in xmp.iterfind(".//pdfaExtension:schemas/rdf:Bag/rdf:li", NS)
        if li.findtext("pdfaSchema:namespaceURI", namespaces=NS) == FX_NS
    ]
    check(len(schemas) == 1, "the fx schema is described %d times in pdfaExtension:schemas" % len(schemas))
    for li in schemas:
        check(li.findtext("pdfaSchema:prefix", namespaces=NS) == "fx", "the fx schema's prefix")
        names = {n.text for n in li.iterfind(".//{http://www.aiim.org/pdfa/ns/property#}name")}
        check(names == set(expected), "fx schema properties %r" % sorted(names))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("OK factur-x.xml %s, %s" % (sys.argv[2], os.path.basename(sys.argv[1])))
