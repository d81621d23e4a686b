module dns01-webhook.test/e2e/pause

go 1.22
