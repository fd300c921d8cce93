"""The site's pages, one module per kind; each turns catalog rows into template contexts and
hands them to `Site.page` (nothing here formats HTML except through the templates and the
escaped SVG builders in `registry.sitegen.plots`). Pages never import the driver."""
