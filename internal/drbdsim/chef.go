package drbdsim

// chefHead prints the first lines of a chef-server-ctl reconfigure run.
func (c *call) chefHead() {
	c.outf("Starting Chef Infra Client, version 17.10.95\n" +
		"Patents: https://www.chef.io/patents\n" +
		"Infra Phase starting\n" +
		"resolving cookbooks for run list: [\"infra-server::default\"]\n" +
		"Synchronizing cookbooks:\n" +
		"  - infra-server (0.1.0)\n" +
		"  - enterprise (0.19.0)\n" +
		"Installing cookbook gems:\n" +
		"Compiling cookbooks...\n" +
		"Converging 432 resources\n" +
		"Recipe: infra-server::drbd\n")
	c.errf("[2025-11-25T00:12:00+00:00] WARN: Chef Infra Client is running in a non-interactive session\n")
}

// progChef implements chef-server-ctl. reconfigure waits, like the real recipe,
// until the DRBD ready file exists (and while BlockReconfigure is on).
func progChef(c *call) int {
	if len(c.args) < 2 {
		c.errf("Usage: chef-server-ctl COMMAND\n")
		return 1
	}
	switch c.args[1] {
	case "reconfigure":
	case "status":
		c.outf("run: nginx: (pid 1234) 100s; run: log: (pid 1200) 120s\n")
		return 0
	case "stop":
		c.outf("ok: down: nginx: 0s, normally up\nok: down: postgresql: 0s, normally up\n")
		return 0
	default:
		c.errf("I don't know that command.\n")
		return 1
	}
	c.chefHead()
	c.outf("  * ruby_block[wait for drbd_ready] action run\n")
	c.flush()
	announced := false
	for {
		var ready, blocked bool
		var changed <-chan struct{}
		c.p.view(func() {
			ready = c.n.fileExists(ReadyFile)
			blocked = c.n.blockReconf
			changed = c.p.changed
		})
		if ready && !blocked {
			break
		}
		if !ready && !announced {
			c.outf("    - waiting for %s to exist\n", ReadyFile)
			c.flush()
			announced = true
		}
		select {
		case <-c.ctx.Done():
			c.errf("\nChef Infra Client interrupted (SIGINT)\n")
			return 130
		case <-changed:
		}
	}
	c.outf("    - execute the ruby block wait for drbd_ready\n" +
		"Recipe: infra-server::default\n" +
		"  * service[private_chef] action start (up to date)\n" +
		"Running handlers:\n" +
		"Running handlers complete\n" +
		"Infra Phase complete, 187/432 resources updated in 01 minutes 12 seconds\n" +
		"Chef Server Reconfigured!\n")
	c.p.mutate(func() {
		c.p.reconfSeq++
		c.n.reconfRuns = append(c.n.reconfRuns, c.p.reconfSeq)
	})
	return 0
}
