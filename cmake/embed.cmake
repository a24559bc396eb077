# Turns the file IN into a C source OUT defining ${NAME}_text[] (NUL-terminated) and ${NAME}_len.
# NAME defaults to eb_wsdl (the WSDL); the admin listener's page embeds its files the same way.
if(NOT DEFINED NAME)
  set(NAME eb_wsdl)
endif()
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
get_filename_component(base ${IN} NAME)
file(WRITE ${OUT} "/* Generated from ${base} at build time. */\n#include <stddef.h>\nconst char ${NAME}_text[] = {${body}0x00};\nconst size_t ${NAME}_len = ${len};\n")
