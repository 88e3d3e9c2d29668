module github.com/idgraph/idgraph/client

go 1.26.0
