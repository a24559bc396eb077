<?xml version="1.0"?>
<!-- Keeps only the SOAP 1.1 binding and port of ehrbridge.wsdl: the input of wsdl2h (gen/regen.sh). -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/">
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
  <xsl:template match="wsdl:binding[soap12:binding]"/>
  <xsl:template match="wsdl:port[soap12:address]"/>
</xsl:stylesheet>
