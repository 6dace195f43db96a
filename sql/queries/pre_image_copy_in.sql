COPY {{table}} FROM STDIN
