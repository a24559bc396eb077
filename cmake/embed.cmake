# Turns the WSDL file IN into a C source OUT defining eb_wsdl_text[] and eb_wsdl_len.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* Generated from wsdl/ehrbridge.wsdl at build time. */\n#include <stddef.h>\nconst char eb_wsdl_text[] = {${body}0x00};\nconst size_t eb_wsdl_len = ${len};\n")
