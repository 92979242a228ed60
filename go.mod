module github.com/taskapi/taskapi

go 1.26.8
